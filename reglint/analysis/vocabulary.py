"""What the analysis follows, declared once: names, calls, methods and attributes.

Every pattern the interpreter matches on the code it reads is declared here, and both the
analysis (reglint/analysis/*.py) and the triage in front of it (which decides, without libcst,
that a file cannot produce a finding) read these declarations. A shape the analysis learns is
added here, and the triage follows without a second edit.
"""

from __future__ import annotations

import re
from typing import NamedTuple, Optional, Sequence

# ---------------------------------------------------------------------------- names

# The stems of a name that says "this is a regularization penalty" (a variable, an attribute, a
# function), and of a name that says "this is a loss that is trained on" (added penalties reach
# the loss). Matched anywhere in the name, ignoring case; `_?` is an optional underscore.
PENALTY_STEMS = ("reg", "penal", "l1", "l2", "lasso", "ridge", "sparsit", "decay", "weight_?norm")
LOSS_STEMS = ("loss", "objective", "cost")
PENALTY_NAME = re.compile("(" + "|".join(PENALTY_STEMS) + ")", re.IGNORECASE)
LOSS_NAME = re.compile("|".join(LOSS_STEMS), re.IGNORECASE)
# A function or method whose return value is a loss: a name with `loss`, `losses` or `objective`
# as a word between underscores, or one of these words anywhere.
LOSS_FUNCTION_WORDS = ("training_step", "compute_loss", "criterion")
LOSS_FUNCTION = re.compile(
    r"(^|_)(loss|losses|objective)($|_)|" + "|".join(LOSS_FUNCTION_WORDS), re.IGNORECASE
)
# Lower-cased words, one of which is in every name PENALTY_NAME, LOSS_NAME or LOSS_FUNCTION
# matches (each stem in each spelling, and LOSS_FUNCTION's words that hold no stem): a name in a
# text that holds none of them is neither a penalty nor a loss.
NAME_STEMS = tuple(
    spelling
    for stem in PENALTY_STEMS + LOSS_STEMS
    for spelling in ((stem.replace("_?", ""), stem.replace("_?", "_")) if "_?" in stem else (stem,))
)
LOSS_FUNCTION_EXTRA_WORDS = tuple(
    word for word in LOSS_FUNCTION_WORDS if not any(stem in word for stem in NAME_STEMS)
)
# The methods that run a module when it is called: what `forward` of a class named like a
# penalty returns is that penalty (`class L2Regularizer(nn.Module): def forward(...)`).
CALL_METHODS = ("forward", "__call__")


def returns_a_loss(function: str, owner: str | None) -> bool:
    """A function (a method of `owner`) whose return value is a loss: named like one
    (LOSS_FUNCTION), or the method a module call runs of a class named like a loss (`class
    RegularizedLoss(nn.Module): def forward`)."""
    if LOSS_FUNCTION.search(function):
        return True
    return owner is not None and function in CALL_METHODS and LOSS_NAME.search(owner) is not None


def returns_a_penalty_or_loss(function: str, owner: str | None) -> bool:
    """What the triage reads of a method's name and its class's: names_a_penalty or
    returns_a_loss."""
    return names_a_penalty(function, owner) or returns_a_loss(function, owner)


def names_a_penalty(function: str, owner: str | None) -> bool:
    """A function (a method of `owner`) whose return value is named like a penalty by its own
    name or, for the method a module call runs, by its class's name."""
    if PENALTY_NAME.search(function):
        return True
    return owner is not None and function in CALL_METHODS and PENALTY_NAME.search(owner) is not None


# A parameter or variable name that holds a number (a coefficient, a rate): an unknown value
# passed under such a name is a number the analysis cannot know, not an arbitrary object.
NUMERIC_NAME = re.compile(
    r"(decay|wd|lr|lam|lambda|alpha|beta|coef|reg|eps|scale)", re.IGNORECASE
)
# The prefix of an `*_weight` attribute that names a coefficient (`self.reg_weight`,
# `cfg.l1_weight`, `kl_weight`), not a parameter tensor (`attn.in_proj_weight`).
COEFFICIENT_WEIGHT_PREFIX = re.compile(
    r"(reg|penal|l1|l2|lasso|ridge|sparsit|decay|wd|lam|lambda|alpha|beta|gamma|coef|loss|kl|aux"
    r"|ortho|smooth|entropy|task|class|pos|neg|sample|recon|cls|ce|mse|contrast|dist|norm_?reg)",
    re.IGNORECASE,
)

# ---------------------------------------------------------------------------- parameters

# Attributes that are a parameter tensor: `.weight`, `.bias`, and `*_weight` (in_proj_weight)
# unless COEFFICIENT_WEIGHT_PREFIX says the attribute is a coefficient.
PARAM_ATTRIBUTES = frozenset({"weight", "bias"})
PARAM_ATTRIBUTE_SUFFIX = "_weight"
# Parts of a model that a parameter's name may be tested for to choose whole modules (`"backbone"
# in n` for DETR's backbone group): such a choice keeps the biases and norm gains of the modules it
# chooses (filters.py). A word that may name the parameters' kind (`bias`, `norm`, `weight`,
# `embed`) is not one of them.
MODULE_PART_WORDS = frozenset({
    "backbone", "head", "heads", "encoder", "decoder", "classifier", "neck", "transformer", "pooler",
    "features", "trunk", "body",
})
# The part of a parameter's name that marks an embedding table (`embedding_layer.embeddings.
# user_id.weight`): leaving the tables out of a set keeps the rest of the network, biases included.
EMBEDDING_PART = "embed"
# Words in the name of a collection of some layers' parameters or of their names (`embedding_params`,
# `emb_params`, `norm_params`, collected by a type test over the model's modules): leaving its
# members out (`if name not in emb_params:`, `if id(p) in norm_params: continue`) keeps the rest of
# the network, the biases of its linear layers included (torch-rechub's RegularizationLoss,
# FuxiCTR's net regularizer).
PART_COLLECTION_WORDS = (EMBEDDING_PART, "emb_", "norm")
# ... unless the name also says it holds what decay leaves out (`norm_and_bias_names`, `no_decay`).
NOT_PART_COLLECTION_WORDS = ("bias", "decay", "skip", "exclu", "vector", "1d")
# Methods of a module that iterate over its parameters, and what each yields.
PARAM_METHODS = {"parameters": "params", "named_parameters": "pairs", "state_dict": "dict"}
# Methods of a module that iterate over submodules (not parameters).
MODULE_METHODS = frozenset({"modules", "children", "named_modules", "named_children"})
# Functions that join parameter iterables (`itertools.chain(a.parameters(), b.parameters())`).
CHAIN_FUNCTIONS = frozenset({"itertools.chain", "itertools.chain.from_iterable"})
# A copy of a value is that value (`cfg = copy.deepcopy(DEFAULTS)`: a config dict, a model).
COPY_FUNCTIONS = frozenset({"copy.deepcopy", "copy.copy"})

# ---------------------------------------------------------------------------- values

# Tensor methods whose result is the tensor they are called on, as far as regularization goes:
# a view, a move, a copy, a change of dtype or shape (for a parameter, or for a penalty value).
SHAPE_METHODS = frozenset({
    "view", "flatten", "reshape", "ravel", "contiguous", "view_as", "float", "double", "half",
    "bfloat16", "to", "cuda", "cpu", "squeeze", "unsqueeze", "t", "clone", "type_as",
})
# torch functions whose result is their first argument's value, reshaped: around a penalty
# (`torch.squeeze(l2_reg) * 1e-3`) they keep the penalty.
SHAPE_FUNCTIONS = frozenset({
    "squeeze", "unsqueeze", "reshape", "flatten", "ravel", "atleast_1d", "clone",
})
# torch functions whose result, for a parameter, is that parameter masked and rescaled
# (`F.dropout(self.user_embedding, p)` looked up and penalized: the penalty is the table's).
DROPOUT_FUNCTIONS = frozenset({"nn.functional.dropout", "dropout"})
# Reductions that keep a penalty a penalty (a sum or a mean of one value is that value).
SCALAR_REDUCTIONS = frozenset({"sum", "mean"})
# Keywords that make a reduction one over some dimensions (`x.pow(2).mean(dim=-1)`: RMSNorm's
# variance), not over the whole tensor: not a penalty term.
DIM_KEYWORDS = frozenset({"dim", "axis"})
# Methods that take a value off the autograd graph.
GRADLESS_METHODS = frozenset({"detach", "numpy", "item", "tolist"})

# ---------------------------------------------------------------------------- penalty terms
#
# A penalty term (analysis/terms.py) is built in exactly two shapes, from a parameter value:
#   a reduction (SCALAR_REDUCTIONS, as a method or a torch function) of an elementwise |w| or w²;
#   a norm (NORM_METHODS on the parameter, NORM_FUNCTIONS with the parameter first).
# Elementwise |w| and w²: `p.abs()`, `torch.abs(p)`, `torch.absolute(p)`; `p.square()`,
# `p.pow(2)`, `torch.square(p)`, `torch.pow(p, 2)`, `p ** 2`, `p * p`.
ABS_CALLS = frozenset({"abs", "absolute"})
SQUARE_CALLS = frozenset({"square", "pow"})
ELEMENTWISE_CALLS = ABS_CALLS | SQUARE_CALLS
NORM_METHODS = frozenset({"norm"})
NORM_FUNCTIONS = frozenset({"norm", "linalg.norm", "linalg.vector_norm", "functional.norm"})
# An L1 loss against zeros is a sum (or mean) of |w|: `l1_crit = nn.L1Loss(size_average=False)`
# then `l1_crit(p, torch.zeros_like(p))`, or `F.l1_loss(p, torch.zeros_like(p), reduction="sum")`.
L1_LOSS_CLASSES = frozenset({"L1Loss"})
L1_LOSS_FUNCTIONS = frozenset({"l1_loss"})
# The last name of every call that can make a term: a text without one of these words as an
# attribute (or imported) builds no term.
NORM_WORDS = NORM_METHODS | frozenset(name.rsplit(".", 1)[-1] for name in NORM_FUNCTIONS)
TERM_CALL_WORDS = SCALAR_REDUCTIONS | NORM_WORDS | L1_LOSS_CLASSES | L1_LOSS_FUNCTIONS
# The arguments a term call may be given (analysis/terms.py, calls.ev_term_method / ev_torch):
#   a reduction builds a term as a method with no positional argument (`*xs` aside) and no
#   DIM_KEYWORDS keyword other than None (`w.pow(2).sum()`), or as a torch function with exactly
#   one argument, the tensor (`torch.sum(w ** 2)`): `x.mean(-1, keepdim=True)` and `x.sum(dim=1)` build none;
#   a norm builds one with no starred argument, no `**`, no `dim=` other than None and no
#   positional argument after the order other than None (the order is the first positional
#   argument of the method, the second of the torch function: `w.norm(2)`, `torch.norm(w, 2)`).
# The triage describes a call it reads (text or syntax) as CallArguments and asks
# arguments_allow_a_term; a call it cannot read with confidence it counts as allowing one.


# Names read as torch's modules without an import (a notebook cell, a pasted snippet).
UNIMPORTED_MODULES = {"torch": "torch", "nn": "torch.nn"}


class CallArgument(NamedTuple):
    """One argument of a call, as the term rules read it: its keyword (None for a positional or
    starred one), its stars (0, 1 for `*xs`, 2 for `**kw`), and whether its value is `None`."""

    keyword: Optional[str]
    stars: int
    none: bool


def arguments_allow_a_term(word: str, arguments: Sequence[CallArgument], may_be_a_function: bool = True) -> bool:
    """Whether a call named `word` (the last name of one of TERM_CALL_WORDS' calls), as a method
    or (where `may_be_a_function`: its callee a dotted name led by a name an import binds, or one
    of UNIMPORTED_MODULES, as names.ImportMap.qualify reads torch's functions) as a torch
    function, with these arguments, may build a penalty term."""
    if word in SCALAR_REDUCTIONS:
        return reduction_allows_a_term(arguments, as_method=True) or (
            may_be_a_function and reduction_allows_a_term(arguments, as_method=False)
        )
    if word in NORM_WORDS:
        return norm_arguments_allow_a_term(arguments, 0) or (
            may_be_a_function and norm_arguments_allow_a_term(arguments, 1)
        )
    return True


def reduction_allows_a_term(arguments: Sequence[CallArgument], as_method: bool) -> bool:
    """`w.abs().sum()` (a method: no positional argument, no dim), `torch.sum(w.abs())` (one
    argument)."""
    if not as_method:
        return len(arguments) == 1 and arguments[0].keyword is None and not arguments[0].stars
    return not any(
        (a.keyword is None and a.stars == 0) or (a.keyword in DIM_KEYWORDS and not a.none) for a in arguments
    )


def norm_arguments_allow_a_term(arguments: Sequence[CallArgument], order_index: int) -> bool:
    """norm_term's conditions, the order at positional `order_index` (1: after the tensor)."""
    positional = 0
    for argument in arguments:
        if argument.stars:
            return False  # `*dims`, `**options`
        if argument.keyword is None:
            if positional > order_index and not argument.none:
                return False  # a positional dim
            positional += 1
        elif argument.keyword == "dim" and not argument.none:
            return False
    return True


# A parameter of a walked set times a pruning mask is that parameter's kept entries (`masks[name]
# * w`, sparse training's penalty on the surviving weights): a factor is a mask where a name or an
# attribute in it holds this word (any case).
MASK_WORD = "mask"
# Attributes of a parameter that are that parameter (Tensor.data, its transposes).
PARAM_VIEW_ATTRIBUTES = frozenset({"data", "T", "mT"})
# Methods of a parameter collection (a dict, a list) whose result holds its items.
COLLECTION_METHODS = frozenset({"items", "values", "keys", "copy", "get"})
# Methods that put their argument into the collection they are called on (`params.append(p)`,
# `params.extend(head.parameters())`): the only calls that change what a receiver holds.
GROWING_METHODS = frozenset({"append", "extend", "add", "insert"})
# Methods of a module container that put their argument into it (`blocks.append(Block())`).
CONTAINER_METHODS = frozenset({"append", "extend", "insert", "add_module", "update"})
# Every method through which a call stores something under its receiver's name, for the analysis
# or for nn.Module (`register_buffer`): with assignments and loop and `with` targets, the only way a
# function hands a value to code that runs after it other than by returning it (triage/inert.py).
STORING_METHODS = GROWING_METHODS | CONTAINER_METHODS | frozenset({
    "setdefault", "register_buffer", "register_parameter", "register_module", "__setitem__", "__setattr__",
})
# Builtins whose result holds their arguments' items (`list(model.parameters())`, `zip(a, b)`).
COLLECTING_BUILTINS = frozenset({"list", "tuple", "iter", "sorted", "set", "enumerate", "filter", "dict", "zip"})
# torch functions that join parameters into one tensor (`torch.cat([p.view(-1) for p in ps])`).
FLATTENING_FUNCTIONS = frozenset({
    "flatten", "cat", "concat", "concatenate", "hstack", "parameters_to_vector",
})

# ---------------------------------------------------------------------------- calls

# Builtins the analysis evaluates (any other builtin call is UNKNOWN).
BUILTINS = frozenset({
    "sum", "abs", "list", "tuple", "iter", "sorted", "set", "float", "filter", "enumerate", "dict",
    "len", "print", "isinstance", "range", "zip", "max", "min", "int", "str", "repr", "getattr",
    "hasattr", "setattr", "super", "type",
})
# The attribute names that hold a script's parsed arguments on an object (`self.hparams = args`
# of a LightningModule, `self.args`): read from there, an attribute is the argument of that name
# (its declared default: `add_argument("--weight-decay", default=0.1)`).
PARSED_ARGUMENT_HOLDERS = frozenset({"args", "hparams", "opt", "opts", "flags", "hp"})
# The builtin that reads an attribute named by a string: `getattr(torch.optim, cfg.optimizer)` is a
# class of torch.optim named at run time (optimizers.NAMED_AT_RUN_TIME), and the triage's cuts take
# a call of it for a name of an optimizer class.
ATTRIBUTE_BY_NAME = "getattr"
# The last name of that module (`torch.optim`, `from torch import optim as O`).
OPTIMIZER_MODULE = "optim"
# Builtins whose call the analysis follows into none of the file's code and through which it
# stores nothing (triage/inert.py).
INERT_BUILTINS = frozenset({
    "isinstance", "issubclass", "hasattr", "len", "print", "range", "int", "float", "bool", "str", "repr",
    "type", "abs", "round", "ValueError", "TypeError", "KeyError", "RuntimeError", "NotImplementedError",
})
# Words that store attributes no assignment in the text shows (`setattr(self, name, layer)`).
HIDDEN_STORES = frozenset({"setattr", "delattr", "__setattr__", "__dict__", "vars", "add_module", "register_module"})
# Method names so common that a call `x.m(...)` on an owner the analysis cannot identify is never
# inlined as "the one method of that name defined in the file".
COMMON_METHODS = frozenset({
    "forward", "__init__", "step", "zero_grad", "train", "eval", "to", "cuda", "cpu", "update",
    "__call__", "item", "backward", "parameters", "named_parameters", "state_dict",
    "load_state_dict", "save", "log", "append",
})
# Calls that record a value for people to read (Lightning's `self.log`, TensorBoard's `add_scalar`,
# `print`): a loss handed only to one of them is measured, not trained on (usage.py, RL107).
LOGGING_CALLS = frozenset({"log", "log_dict", "add_scalar", "add_scalars", "print"})
# Contexts and decorators that turn gradients off.
NO_GRAD_CONTEXTS = frozenset({
    "torch.no_grad", "torch.inference_mode", "torch.autograd.no_grad",
    "torch.autograd.grad_mode.no_grad",
})
# `loss.backward()`, and `self.manual_backward(loss)` / `accelerator.backward(loss)`.
BACKWARD_FUNCTIONS = frozenset({"backward", "manual_backward"})
# How many calls deep helpers are inlined. A project's setup is often this deep: `main()` →
# `Trainer.fit` → an epoch → a step → the penalty helper of losses.py, with the optimizer built
# in main() (fixtures/projects/deep_trainer_chain).
MAX_INLINE_DEPTH = 6

# ---------------------------------------------------------------------------- layers

# torch.nn layers, by whether their parameters include 1-D ones (biases, norm gains). A model
# built only from layers without 1-D parameters has no bias for a penalty or a decay to reach.
LAYERS_WITHOUT_PARAMETERS = frozenset({
    "ReLU", "ReLU6", "GELU", "SiLU", "Mish", "Tanh", "Sigmoid", "Softmax", "LogSoftmax", "Softplus",
    "LeakyReLU", "ELU", "SELU", "CELU", "Hardswish", "Hardsigmoid", "Hardtanh", "Softsign",
    "Tanhshrink", "Threshold", "GLU", "Dropout", "Dropout1d", "Dropout2d", "Dropout3d",
    "AlphaDropout", "Flatten", "Unflatten", "Identity", "MaxPool1d", "MaxPool2d", "MaxPool3d",
    "AvgPool1d", "AvgPool2d", "AvgPool3d", "AdaptiveAvgPool1d", "AdaptiveAvgPool2d",
    "AdaptiveAvgPool3d", "AdaptiveMaxPool1d", "AdaptiveMaxPool2d", "AdaptiveMaxPool3d", "Upsample",
    "UpsamplingNearest2d", "UpsamplingBilinear2d", "PixelShuffle", "PixelUnshuffle", "ZeroPad1d",
    "ZeroPad2d", "ZeroPad3d", "ConstantPad1d", "ConstantPad2d", "ReflectionPad1d",
    "ReflectionPad2d", "ReplicationPad2d", "LocalResponseNorm", "CosineSimilarity",
    "PairwiseDistance", "ChannelShuffle",
})
# Layers whose only parameters are a weight matrix and an optional bias (the `bias` keyword,
# True by default).
LAYERS_WITH_BIAS = frozenset({
    "Linear", "Bilinear", "LazyLinear", "Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d",
    "ConvTranspose2d", "ConvTranspose3d", "LazyConv1d", "LazyConv2d", "LazyConv3d", "RNN", "LSTM",
    "GRU", "RNNCell", "LSTMCell", "GRUCell",
})
# Layers with only matrices (an embedding table).
LAYERS_MATRIX_ONLY = frozenset({"Embedding", "EmbeddingBag"})
# Classes whose objects hold settings as attributes, made from keywords or from a dict
# (`cfg = SimpleNamespace(lr=1e-3, weight_decay=0.0)`, `EasyDict(config)`): read as the dict they
# are, whose keys `cfg.weight_decay` also reads.
ATTRIBUTE_DICTS = frozenset({
    "types.SimpleNamespace", "argparse.Namespace", "easydict.EasyDict", "munch.Munch", "addict.Dict",
    "ml_collections.ConfigDict", "ml_collections.config_dict.ConfigDict", "omegaconf.OmegaConf.create",
    "dotmap.DotMap", "attrdict.AttrDict", "box.Box",
})
# Their last names: a project module's `cfg = SimpleNamespace(lr=1e-3)` of literals is one of the
# declarations an importer reads (modules._ast_literal, classes.is_literal).
ATTRIBUTE_DICT_NAMES = frozenset(name.rpartition(".")[2] for name in ATTRIBUTE_DICTS) | {"edict"}  # (its usual alias)
# Layers whose call looks rows of their weight up (`self.user_embedding(users)`): the rows of a
# batch are that parameter's values, so a norm of them is a penalty on the table (RecBole's
# EmbLoss, LightGCN's and daisyRec's `reg_loss`), as a norm of `.weight` is. A parameter value
# also starts at a call of what a call of one of these names makes (the triage looks for the name).
ROW_LAYERS = frozenset({"Embedding"})


# torch.nn classes whose call makes a parameter, or a container of parameters, that the code then
# reads as such: `self.P` of `self.P = nn.Parameter(torch.randn(n, d))`, `self.tables["user"]` of
# an `nn.ParameterDict` (expressions.ev_attribute, ev_subscript). A parameter value also starts at
# a call of one of these names (the triage looks for the name, as for ROW_LAYERS).
PARAMETER_CLASSES = frozenset({"Parameter", "ParameterDict", "ParameterList"})
# The classes whose call starts a parameter value: an embedding layer (the rows it looks up) or a
# parameter (or container of them). The triage looks for their names.
PARAMETER_MAKERS = ROW_LAYERS | PARAMETER_CLASSES


def row_layers_in(text: Optional[str]) -> frozenset[str]:
    """The ROW_LAYERS a module's code can make: torch.nn's, which only a text that spells torch
    imports (Keras and Flax have an `Embedding` too); all of them where the text is not known."""
    return ROW_LAYERS if text is None or "torch" in text else frozenset()


def parameter_classes_in(text: Optional[str]) -> frozenset[str]:
    """The PARAMETER_CLASSES a module's code can call: torch.nn's, as row_layers_in says."""
    return PARAMETER_CLASSES if text is None or "torch" in text else frozenset()


def parameter_makers_in(text: Optional[str]) -> frozenset[str]:
    """The PARAMETER_MAKERS a module's code can call: torch.nn's, as row_layers_in says."""
    return PARAMETER_MAKERS if text is None or "torch" in text else frozenset()


def hands_rows_to(callee: str | None) -> bool:
    """Does a call hand the rows an embedding layer looked up (ROW_LAYERS) to the code it runs?
    Only where the callee's written last name (`reg_loss` in `self.reg_loss(user_e, pos_e)`) is
    named like a penalty or a loss: RecBole's EmbLoss, `calc_l2(u_emb)`. Elsewhere the rows go on
    to a model's layers (`self.encoder(inputs_embeds)`), which compute activations, and following
    them there would read every transformer file for nothing."""
    return callee is not None and (PENALTY_NAME.search(callee) is not None or LOSS_NAME.search(callee) is not None)
# Normalization layers: 1-D gains (and biases) unless their affine flag is False.
NORM_LAYERS = {
    "BatchNorm1d": "affine", "BatchNorm2d": "affine", "BatchNorm3d": "affine",
    "SyncBatchNorm": "affine", "InstanceNorm1d": "affine", "InstanceNorm2d": "affine",
    "InstanceNorm3d": "affine", "GroupNorm": "affine", "LayerNorm": "elementwise_affine",
    "RMSNorm": "elementwise_affine", "LazyBatchNorm1d": "affine", "LazyBatchNorm2d": "affine",
}
# Containers whose parameters are their layers'.
LAYER_CONTAINERS = frozenset({"Sequential", "ModuleList", "ModuleDict"})
# Layer classes by the end of their names (`nn.BatchNorm2d`, `bn.BatchNorm2dEx`, `nn.Linear`): no
# parameter is an instance of one, so `isinstance(p, nn.BatchNorm2d)` is False for every one.
LAYER_CLASS_NAME = re.compile(r"(?:Norm\w*|Linear|Conv\w*|Embedding\w*|Module|Sequential|LSTM|GRU|RNN)$")
# Base classes a model class may have and still be summarized from its own layers.
MODULE_BASES = frozenset({"torch.nn.Module", "torch.nn.modules.module.Module", "pytorch_lightning.LightningModule", "lightning.LightningModule", "lightning.pytorch.LightningModule"})
# Calls in a class's __init__ that add parameters the analysis does not see.
REGISTERING_CALLS = ("add_module", "register_parameter", "register_module", "setattr(", "ParameterList", "ParameterDict")
# Tensor methods that change a tensor's dtype or device, never its shape (what
# `nn.Parameter(torch.Tensor(a, b).type(dtype))` holds is still a matrix).
RETYPING_METHODS = frozenset({
    "type", "to", "float", "double", "half", "bfloat16", "cuda", "cpu", "contiguous", "clone", "requires_grad_",
})
# torch factories whose positional arguments are a tensor's sizes (for `nn.Parameter(...)`).
PARAMETER_FACTORIES = frozenset({
    "torch.randn", "torch.rand", "torch.zeros", "torch.ones", "torch.empty", "torch.FloatTensor",
    "torch.Tensor",
})

# ---------------------------------------------------------------------------- projects

# A module sets up training when its code constructs an optimizer (a class the analysis knows,
# named in its code outside imports: called by its name or an import's alias, or held as a value
# that a call calls, `opt_cls = optim.Adam`), or when it calls backward() and imports a project
# module that calls an optimizer class (another module's code holds no class as a value: the
# analysis makes values.OptimizerClass only in the linted module's code). Only then does the
# analysis run code of the
# project's other modules for it (their functions, methods, constructors): a module that does
# not can take their values (constants, config classes), never their penalties, optimizers or
# parameter sets. (A loop that only calls backward() on an optimizer made elsewhere has no setup
# of its own to complete: the module that builds the optimizer does.) The triage reads the same
# test (triage/training.py), so a file it rules out on its own text never needed the other
# modules.


# Functions that are a training step by their name (Lightning's `training_step`, the
# `compute_loss` a trainer's step backpropagates: HF Trainer's, a trainer subclass's): a penalty
# computed in one and not added to the loss it returns regularizes nothing (RL107), like one in a
# function that calls backward().
TRAINING_STEP_FUNCTIONS = frozenset({"training_step", "compute_loss"})
# Functions the analysis reads for what a model holds (its layers, hence whether it has biases):
# the triage never prunes them, whatever it finds in them.
MODEL_BUILDERS = frozenset({"__init__"})
# nn.Module methods that return the module itself (`Net(...).to(device)`, `model.train()`).
MODULE_SELF_METHODS = frozenset({
    "to", "cuda", "cpu", "train", "eval", "float", "double", "half", "bfloat16", "requires_grad_",
    "apply", "share_memory", "type", "to_empty",
})
# torch functions that wrap a module and train the same parameters (DDP, DataParallel, compile).
# Objects whose methods hand back what they are given (`model, optimizer =
# accelerator.prepare(model, optimizer)`, `accelerator.unwrap_model(model)`): the class, and those
# methods.
PASSING_OBJECTS = frozenset({"accelerate.Accelerator", "accelerate.accelerator.Accelerator"})
PASSING_OBJECT_METHODS = frozenset({"prepare", "unwrap_model", "prepare_model", "prepare_optimizer"})
# A Lightning trainer's `fit(module, ...)` runs the module's optimizer hook and its training step
# on that object (with the settings a script gave it: `NeuMF(cfg)`).
LIGHTNING_TRAINERS = frozenset({
    "pytorch_lightning.Trainer", "pytorch_lightning.trainer.Trainer", "pytorch_lightning.trainer.trainer.Trainer",
    "lightning.Trainer", "lightning.pytorch.Trainer", "lightning.pytorch.trainer.Trainer",
})
LIGHTNING_FIT_RUNS = ("configure_optimizers", "training_step")
MODULE_WRAPPERS = frozenset({
    "nn.DataParallel", "nn.parallel.DataParallel", "nn.parallel.DistributedDataParallel",
    "nn.parallel.distributed.DistributedDataParallel", "compile",
})
# nn.Module methods an __init__ may call without adding parameters.
HARMLESS_MODULE_METHODS = frozenset({
    "register_buffer", "apply", "to", "cuda", "cpu", "float", "double", "half", "train", "eval",
    "requires_grad_", "zero_grad", "__init__",
})
# torch functions that copy their argument's values into a new tensor, off the autograd graph.
REWRAPPING_FUNCTIONS = frozenset({"tensor", "as_tensor", "Tensor", "FloatTensor"})
