"""torch.optim constructions: which parameters each group holds and with what weight_decay."""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

import libcst as cst

from reglint.analysis.facts import (
    Number,
    OptimizerCall,
    ParamGroup,
    ParamSet,
)
from reglint.analysis.filters import NOT_VECTORS
from reglint.analysis.library_optimizers import (
    FACTORIES,
    NET_DEFAULT_OPTIMIZER,
    NET_OPTIMIZER_PREFIX,
    TRAINER_DEFAULT_OPTIM,
    TRAINING_ARGUMENT_DEFAULTS,
)
from reglint.analysis.optimizers import NAMED_AT_RUN_TIME, spec_for, timm_spec, trainer_spec
from reglint.analysis.state import (
    AnalyzerMixin,
    Frame,
)
from reglint.analysis.valueops import (
    as_param_set,
    explicit_set,
    to_number,
)
from reglint.analysis.values import (
    UNKNOWN,
    DictVal,
    ListVal,
    Num,
    OneOf,
    OptimizerClass,
    OptimizerRef,
    Param,
    ParamIter,
    Str,
    TupleVal,
    Value,
)

if TYPE_CHECKING:
    from reglint.analysis.optimizers import OptimizerSpec

# TrainingArguments' first positional fields (output_dir, then flags): none of them is a field the
# trainer's optimizer reads, which come much later in its signature.
_LEADING_FIELDS = 4


class OptimizerEvaluator(AnalyzerMixin):
    # ------------------------------------------------------------------ optimizers

    def ev_optimizer(
        self, node: cst.Call, qualified: str, frame: Frame, held: Optional[OptimizerClass] = None
    ) -> Value:
        """A construction of the optimizer class `qualified`, named at the call (`optim.Adam(...)`)
        or `held` by what the call calls (`opt_cls(...)`), with the keywords of the partial that
        made the value, if any (read where the partial was written; the call's own win)."""
        named_by = held.named_by if held is not None else None
        spec = NAMED_AT_RUN_TIME if named_by is not None else spec_for(qualified)
        assert spec is not None
        positional = [a for a in node.args if a.keyword is None and not a.star]
        # Each keyword argument with the frame its value is read in.
        keywords: dict[str, tuple[cst.Arg, Frame]] = {}
        star_kwargs: list[tuple[cst.Arg, Frame]] = []
        calls = [(node, frame)]
        if held is not None and held.bound is not None and held.bound_frame is not None:
            calls.insert(0, (held.bound, held.bound_frame))
            if not self.foreign:
                # (constructed by another module's code, a trainer handed `partial(optim.Adam,
                # weight_decay=args.wd)`, it is still read where it is written: uncalled partials)
                self.called_partials.add(id(held.bound))
        for written, where in calls:
            for argument in written.args:
                if argument.keyword is not None:
                    keywords[argument.keyword.value] = (argument, where)
                elif argument.star == "**":
                    star_kwargs.append((argument, where))
        params_node = (
            positional[0].value
            if positional
            else (keywords["params"][0].value if "params" in keywords else None)
        )
        groups, groups_known = self.param_groups(params_node, frame)
        decay_node: Optional[cst.CSTNode] = None
        decay_arg: Optional[cst.BaseExpression] = None
        decay_frame = frame
        if "weight_decay" in keywords:
            decay_arg = keywords["weight_decay"][0].value
            decay_frame = keywords["weight_decay"][1]
        elif "weight_decay" in spec.positional and len(positional) > 1 + spec.positional.index(
            "weight_decay"
        ):
            decay_arg = positional[1 + spec.positional.index("weight_decay")].value
        extra: Optional[DictVal] = None
        extra_frame = frame
        extra_node: Optional[cst.BaseExpression] = None
        for star, where in star_kwargs:
            expanded = self.ev(star.value, where)
            if isinstance(expanded, DictVal):
                extra, extra_frame, extra_node = expanded, where, star.value
        if decay_arg is not None:
            decay_node = decay_arg
            weight_decay = self.number(decay_arg, decay_frame)
        elif extra is not None and extra.get("weight_decay") is not None:
            found = extra.get("weight_decay")
            assert found is not None
            decay_node = found[1]
            if extra_node is not None and self.ctx.home and not self._in_linted_module(found[1]):
                # another module's dict (`**cfg["optimizer"]` of config.py's DEFAULTS): its number is
                # placed where this code unpacks it
                decay_node = extra_node
                found = (found[0], extra_node)
            weight_decay = (
                self.number(found[1], extra_frame)
                if not isinstance(found[0], Num)
                else to_number(found[0], found[1])
            )
        elif star_kwargs and extra is None:
            hidden = self.module.code_for_node(star_kwargs[0][0].value)
            default = spec.default_weight_decay
            if default:
                # AdamW(params, **cfg): the default decay applies unless the dict sets another.
                weight_decay = Number(None, f"{default:g}", None, hidden_in=hidden)
            else:
                weight_decay = Number(None, "**" + hidden, None, default_used=True)
        else:
            weight_decay = _default_decay(spec)
        decoupled = None
        flag = spec.switch[0] if spec.switch is not None else "decoupled_weight_decay"
        if flag in keywords:
            decoupled = self.number(keywords[flag][0].value, keywords[flag][1])
        elif flag in spec.positional and len(positional) > 1 + spec.positional.index(flag):
            decoupled = self.number(positional[1 + spec.positional.index(flag)].value, frame)
        keyword_nodes = tuple((k, a.value) for k, (a, _) in keywords.items())
        call = OptimizerCall(
            node=node,
            qualname=qualified,
            class_name=named_by or spec.display,
            spec=spec,
            groups=groups,
            groups_known=groups_known,
            weight_decay=weight_decay,
            weight_decay_node=decay_node,
            keywords=keyword_nodes,
            decoupled_flag=decoupled,
            scope=frame.name,
            func_node=None if held is not None else node.func,
            owner_class=frame.class_name,
            home=not self.foreign,
            module=self.module,
            path=self.ctx.path,
        )
        return self.keep_optimizer(call)

    def class_named_at_run_time(self, node: cst.Call, frame: Frame) -> Optional[OptimizerClass]:
        """`getattr(torch.optim, "Adam")`: that class; `getattr(torch.optim, cfg.optimizer)`: a class
        of torch.optim named at run time, whichever it is (optimizers.NAMED_AT_RUN_TIME). Only code
        that names optimizer classes names one, as with optimizer_class."""
        if not self.names_optimizer_classes or len(node.args) != 2 or any(a.keyword is not None or a.star for a in node.args):
            return None
        module, name = node.args[0].value, node.args[1].value
        if self.imports.qualify(module) != "torch.optim":
            return None
        named = self.ev(name, frame)
        if isinstance(named, Str):
            qualified = f"torch.optim.{named.value}"
            return OptimizerClass(qualified) if spec_for(qualified) is not None else None
        return OptimizerClass("torch.optim", named_by=self.module.code_for_node(node))

    def keep_optimizer(self, call: OptimizerCall) -> Value:
        """Record a construction (the most informed reading of it, when run more than once)."""
        node = call.node
        existing = self.optimizers.get(id(node))
        if self.recording:
            function = self._inline_stack[-1] if self._inline_stack else None
            self._constructed_in.setdefault(id(node), set()).add((function, self.wiring_run))
        if self.recording and (
            existing is None
            or (not existing.weight_decay.known and call.weight_decay.known)
            # (a caller's value that may be > 0 over a parameter's declared 0: the caller decides)
            or (not existing.weight_decay.known and not existing.weight_decay.may_be_positive and call.weight_decay.may_be_positive)
            or (not existing.groups_known and call.groups_known)
            or _known_group_decays(call) > _known_group_decays(existing)
        ):
            self.optimizers[id(node)] = call
        return OptimizerRef(id(node))

    def ev_factory(self, node: cst.Call, qualified: str, frame: Frame) -> Value:
        """timm's `create_optimizer_v2(model, opt="adamw", weight_decay=0.05)`: the optimizer it
        builds, whose groups keep every 1-D parameter out of decay when it is given a module
        (unless `filter_bias_and_bn=False`)."""
        opt_index, default_opt, decay_index, default_decay, filter_index = FACTORIES[qualified]
        positional = [a.value for a in node.args if a.keyword is None and not a.star]
        keywords = {a.keyword.value: a.value for a in node.args if a.keyword is not None}
        for value in list(positional) + list(keywords.values()):
            self.ev(value, frame)
        if any(a.star for a in node.args):
            return UNKNOWN

        def argument(name: str, index: int) -> Optional[cst.BaseExpression]:
            if name in keywords:
                return keywords[name]
            return positional[index] if 0 <= index < len(positional) else None

        opt_node = argument("opt", opt_index)
        opt = self.ev(opt_node, frame) if opt_node is not None else Str(default_opt)
        if not isinstance(opt, Str):
            return UNKNOWN
        spec = timm_spec(opt.value)
        target = argument("model_or_params", 0)
        if spec is None or target is None:
            return UNKNOWN
        decay_node = argument("weight_decay", decay_index)
        weight_decay = (
            self.number(decay_node, frame)
            if decay_node is not None
            else Number(default_decay, f"the default {default_decay:g}", None, default_used=True)
        )
        filter_node = argument("filter_bias_and_bn", filter_index)
        switch = self.ev(filter_node, frame) if filter_node is not None else None
        filtered = not (isinstance(switch, Num) and switch.value == 0)  # filter_bias_and_bn=False
        given = self.ev(target, frame)
        if isinstance(given, (ParamIter, ListVal)):
            groups, groups_known = self.param_groups(target, frame)  # parameters or groups: as given
        else:
            params = ParamSet(
                owner=self.module.code_for_node(target),
                origin="parameters",
                node=self.here(target),
                unfiltered=not filtered,
                filter_text="timm's filter_bias_and_bn" if filtered else None,
                selects=NOT_VECTORS if filtered else None,
            )
            groups, groups_known = (ParamGroup(node=self.here(target), params=params, weight_decay=None),), True
        call = OptimizerCall(
            node=node,
            qualname=qualified,
            class_name=spec.display,
            spec=spec,
            groups=groups,
            groups_known=groups_known,
            weight_decay=weight_decay,
            weight_decay_node=decay_node,
            keywords=tuple((k, v) for k, v in keywords.items()),
            scope=frame.name,
            func_node=node.func,
            owner_class=frame.class_name,
            home=not self.foreign,
            module=self.module,
            path=self.ctx.path,
        )
        return self.keep_optimizer(call)

    def ev_training_arguments(self, node: cst.Call, frame: Frame) -> Value:
        """transformers' `TrainingArguments(...)`: its fields as attributes (a DictVal, as an
        attribute dict is), keywords and `**` of a known dict. Where the call shows everything it
        sets, the fields the trainer's optimizer reads hold their defaults unless set
        (library_optimizers.TRAINING_ARGUMENT_DEFAULTS: weight_decay 0.0, optim "adamw_torch")."""
        entries: list[tuple[Optional[str], Value, Optional[cst.CSTNode], cst.CSTNode]] = []
        complete = True
        for index, argument in enumerate(node.args):
            value = self.ev(argument.value, frame)
            if argument.keyword is not None:
                entries.append((argument.keyword.value, value, argument.keyword, self.value_site(value, argument.value)))
            elif argument.star == "**" and isinstance(value, DictVal):
                entries.extend(value.entries)
            elif argument.star or index >= _LEADING_FIELDS:
                complete = False  # a field far down the signature, or a dict the analysis cannot read
        made = DictVal(self.here(node), ())
        for key, value, key_node, value_node in entries:
            if key is not None:
                made = DictVal(made.node, made.without(key).entries + ((key, value, key_node, value_node),))
        if complete:
            for key, default in TRAINING_ARGUMENT_DEFAULTS:
                if made.get(key) is None:
                    held: Value = Num(default, f"the default {default:g}") if isinstance(default, float) else Str(str(default))
                    made = DictVal(made.node, made.entries + ((key, held, None, self.here(node)),))
        return made

    def ev_trainer(
        self,
        node: cst.Call,
        qualified: str,
        frame: Frame,
        own_init: bool = False,
        owner_class: Optional[str] = None,
    ) -> Value:
        """transformers' `Trainer(model=..., args=...)`, or a construction of a class derived from
        it (`owner_class`; `own_init`: with an __init__ of its own, whose positions the analysis
        does not map to the trainer's): the optimizer it builds (library_optimizers.TRAINERS),
        unless the call hands it one (`optimizers=`). Its arguments are evaluated by the caller."""
        positional = [a.value for a in node.args if a.keyword is None and not a.star]
        keywords = {a.keyword.value: a.value for a in node.args if a.keyword is not None}
        if "optimizers" in keywords:
            self._handed_to_trainer(keywords["optimizers"], frame, owner_class)
            return UNKNOWN
        if len(positional) > 9:
            return UNKNOWN
        model_node = keywords.get("model", None if own_init or not positional else positional[0])
        args_node = keywords.get("args", None if own_init or len(positional) < 2 else positional[1])
        if model_node is None:
            return UNKNOWN  # (`model_init=`, or hidden in **kwargs)
        settings = self.ev(args_node, frame) if args_node is not None else None
        optim = settings.get("optim") if isinstance(settings, DictVal) else None
        optim_name = TRAINER_DEFAULT_OPTIM
        if optim is not None:
            if not isinstance(optim[0], Str):
                return UNKNOWN  # a class chosen at run time
            optim_name = optim[0].value
        spec = trainer_spec(optim_name)
        if spec is None:
            return UNKNOWN  # an optimizer the tables do not hold
        decay = settings.get("weight_decay") if isinstance(settings, DictVal) else None
        decay_node: Optional[cst.CSTNode] = None
        if decay is not None:
            weight_decay = to_number(decay[0], decay[1], decay[0].text if isinstance(decay[0], Num) else None)
            decay_node = decay[1] if self._in_linted_module(decay[1]) else None
        else:
            # (`args` parsed from the command line: the trainer's default is 0.0)
            weight_decay = Number(None, f"{self.module.code_for_node(args_node)}.weight_decay" if args_node is not None else "weight_decay", None, default_used=True)
        return self.keep_optimizer(
            self._trainer_optimizer(
                node, qualified, spec, weight_decay, decay_node,
                (self.module.code_for_node(model_node), self.here(model_node)), frame, owner_class,
            )
        )

    def _handed_to_trainer(self, node: cst.BaseExpression, frame: Frame, owner_class: Optional[str]) -> None:
        """`optimizers=(optimizer, scheduler)` handed to a trainer of a class this file derives:
        the trainer steps that optimizer on the loss its compute_loss returns. Only names and
        attributes are read again (the caller evaluated the arguments; a call would run twice)."""
        if owner_class is None:
            return
        first: Optional[cst.BaseExpression] = node
        if isinstance(node, (cst.Tuple, cst.List)):
            first = node.elements[0].value if node.elements and not isinstance(node.elements[0], cst.StarredElement) else None
        if not isinstance(first, (cst.Name, cst.Attribute)):
            return
        value = self.ev(first, frame)
        if isinstance(value, TupleVal) and first is node and value.items:
            value = value.items[0]
        options = value.options if isinstance(value, OneOf) else (value,)
        keys = {option.key for option in options if isinstance(option, OptimizerRef)}
        if keys:
            self.handed_to_trainers.setdefault(owner_class, set()).update(keys)

    def ev_net(self, node: cst.Call, qualified: str, frame: Frame) -> Value:
        """skorch's `NeuralNetClassifier(Module, optimizer=torch.optim.Adam,
        optimizer__weight_decay=1e-4)` (library_optimizers.NETS): the optimizer the net builds
        over every parameter of its module, its keywords spelled `optimizer__<name>` (also in a
        `**` dict the analysis knows). Silent where the class is not one the analysis knows.
        Its arguments are evaluated by the caller."""
        positional = [a.value for a in node.args if a.keyword is None and not a.star]
        keywords: dict[str, tuple[Value, cst.CSTNode]] = {}
        for argument in node.args:
            if argument.keyword is not None:
                keywords[argument.keyword.value] = (self.ev(argument.value, frame), argument.value)
            elif argument.star == "**":
                unpacked = self.ev(argument.value, frame)
                if not isinstance(unpacked, DictVal):
                    return UNKNOWN  # (the optimizer or its decay may be in it)
                for key, value, _, value_node in unpacked.entries:
                    if key is not None:
                        keywords.setdefault(key, (value, value_node))
        module = keywords["module"][1] if "module" in keywords else (positional[0] if positional else None)
        chosen = keywords.get("optimizer")
        if chosen is None:
            spec, named = spec_for(NET_DEFAULT_OPTIMIZER), NET_DEFAULT_OPTIMIZER
        elif isinstance(chosen[0], OptimizerClass) and chosen[0].named_by is None:
            spec, named = spec_for(chosen[0].qualified), chosen[0].qualified
        else:
            return UNKNOWN
        if spec is None or module is None:
            return UNKNOWN
        decay = keywords.get(NET_OPTIMIZER_PREFIX + "weight_decay")
        if decay is not None:
            weight_decay = to_number(decay[0], decay[1], decay[0].text if isinstance(decay[0], Num) else self.module.code_for_node(decay[1]))
        else:
            weight_decay = _default_decay(spec)
        grouped = NET_OPTIMIZER_PREFIX + "param_groups" in keywords
        params = ParamSet(owner=self.module.code_for_node(module), origin="parameters", node=self.here(node), unfiltered=True)
        call = OptimizerCall(
            node=node,
            qualname=named,
            class_name=spec.display,
            spec=spec,
            groups=() if grouped else (ParamGroup(node=self.here(node), params=params, weight_decay=None),),
            groups_known=not grouped,
            weight_decay=weight_decay,
            weight_decay_node=decay[1] if decay is not None and self._in_linted_module(decay[1]) else None,
            keywords=tuple(
                (key.removeprefix(NET_OPTIMIZER_PREFIX), value_node)
                for key, (_, value_node) in keywords.items()
                if key.startswith(NET_OPTIMIZER_PREFIX)
            ),
            scope=frame.name,
            func_node=None,
            owner_class=frame.class_name,
            home=not self.foreign,
            module=self.module,
            path=self.ctx.path,
        )
        return self.keep_optimizer(call)

    def _trainer_optimizer(
        self,
        node: cst.CSTNode,
        qualified: str,
        spec: "OptimizerSpec",
        weight_decay: Number,
        decay_node: Optional[cst.CSTNode],
        model: Optional[tuple[str, cst.CSTNode]],
        frame: Frame,
        owner_class: Optional[str],
    ) -> OptimizerCall:
        """The trainer's optimizer: one group of the weights of `model` (its code and where it is
        written), decayed by `weight_decay`; its biases and norm layers' parameters are in a group
        of their own without decay."""
        groups: tuple[ParamGroup, ...] = ()
        if model is not None:
            owner, site = model
            params = ParamSet(
                owner=owner,
                origin="parameters",
                node=site,
                unfiltered=False,
                filter_text="the Trainer's decay groups",
                selects=NOT_VECTORS,
            )
            groups = (ParamGroup(node=site, params=params, weight_decay=None),)
        return OptimizerCall(
            node=node,  # type: ignore[arg-type]
            qualname=qualified,
            class_name=f"the Trainer's {spec.display}",
            spec=spec,
            groups=groups,
            groups_known=model is not None,
            weight_decay=weight_decay,
            weight_decay_node=decay_node,
            keywords=(),
            scope=frame.name,
            func_node=None,
            owner_class=owner_class if owner_class is not None else frame.class_name,
            home=not self.foreign,
            module=self.module,
            path=self.ctx.path,
        )

    def _in_linted_module(self, node: cst.CSTNode) -> bool:
        from reglint.analysis.positions import holds

        return holds(self.home.module, node)

    def number(self, node: cst.CSTNode, frame: Frame) -> Number:
        value = self.ev(node, frame) if isinstance(node, cst.BaseExpression) else UNKNOWN
        code = self.module.code_for_node(node)
        richer = isinstance(value, Num) and value.text.startswith(code)
        return to_number(value, node, value.text if richer else code)  # type: ignore[union-attr,attr-defined]

    def _entry_text(self, value: Value, node: cst.CSTNode) -> str:
        """How a message spells a dict entry's value: its code, or where a script's run placed it
        at the script's module (wiring.py), the number it holds."""
        if isinstance(node, cst.Module):
            return value.text if isinstance(value, Num) else "weight_decay"
        return self.module.code_for_node(node)

    def param_groups(
        self, node: Optional[cst.BaseExpression], frame: Frame
    ) -> tuple[tuple[ParamGroup, ...], bool]:
        if node is None:
            return (), False
        value = self.ev(node, frame)
        if isinstance(value, ParamIter):
            return (ParamGroup(node=node, params=value.pset, weight_decay=None),), True
        if isinstance(value, Param):
            return (
                ParamGroup(node=node, params=explicit_set(value, node), weight_decay=None),
            ), True
        if isinstance(value, ListVal) and value.items:
            if all(isinstance(item, DictVal) for item in value.items):
                groups = []
                known = True
                for item in value.items:
                    assert isinstance(item, DictVal)
                    params_entry = item.get("params")
                    pset: Optional[ParamSet] = None
                    if params_entry is not None:
                        pset = as_param_set(params_entry[0], params_entry[1])
                    if pset is None:
                        known = False
                    decay_entry = item.get("weight_decay")
                    decay = to_number(decay_entry[0], decay_entry[1], self._entry_text(*decay_entry)) if decay_entry else None
                    keys = tuple(
                        (k, key_node)
                        for k, _, key_node, _ in item.entries
                        if k is not None and key_node is not None
                    )
                    if any(k is None for k, *_ in item.entries):
                        known = False
                    groups.append(
                        ParamGroup(node=item.node, params=pset, weight_decay=decay, keys=keys)
                    )
                return tuple(groups), known
            if all(isinstance(item, Param) for item in value.items):
                return (
                    ParamGroup(
                        node=node,
                        params=ParamSet(self.module.code_for_node(node), "explicit", node, False),
                        weight_decay=None,
                    ),
                ), True
        return (ParamGroup(node=node, params=None, weight_decay=None),), False

def _default_decay(spec: "OptimizerSpec") -> Number:
    """The class's own weight_decay, where the construction writes none."""
    default = spec.default_weight_decay
    return Number(default, f"the default {default:g}" if default is not None else "none", None, default_used=True)


def _known_group_decays(call: OptimizerCall) -> int:
    """How many of its param groups' own decays are known (`cfg.optim.dense_wd` where a script
    gave the config: 0.1)."""
    return sum(1 for group in call.groups if group.weight_decay is not None and group.weight_decay.known)
