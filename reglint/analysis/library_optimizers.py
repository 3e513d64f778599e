"""Optimizers of other libraries, with their real signatures and defaults.

Each entry was read in the library's source (transformers 4.30-5.25, apex, bitsandbytes 0.45/0.50,
torch_optimizer 0.3.0, timm 1.0.31, lion-pytorch, dadaptation, prodigyopt, schedulefree, deepspeed,
colossalai, madgrad, pl_bolts): the positional arguments after `params`, the default
weight_decay, and how the decay couples to the update (see optimizers.py). A few facts that
matter most:

- transformers' `AdamW` (until 4.49) is decoupled with weight_decay 0.0 by default.
- apex `FusedAdam` is decoupled unless `adam_w_mode=False` (timm's 'fusedadam' passes False).
- bitsandbytes' `Adam`/`Adam8bit` apply decay the AdamW way (decoupled) in every kernel; its
  `AdamW*` default to weight_decay 1e-2.
- torch_optimizer: AdaBound, DiffGrad, Yogi, Apollo, MADGRAD, SWATS, Shampoo are coupled and
  adaptive; AdamP, Lamb, RAdam, NovoGrad, AdaMod, Ranger are decoupled.

Positions are kept only up to the arguments every version read shares.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Optional

if TYPE_CHECKING:
    from reglint.analysis.optimizers import OptimizerSpec


def library_specs() -> dict[str, dict[str, "OptimizerSpec"]]:
    """package prefix -> class name -> spec (built on first use: the table is long)."""
    from reglint.analysis.optimizers import OptimizerSpec

    def spec(
        name: str,
        positional: tuple[str, ...],
        default: Optional[float],
        coupling: Optional[str],
        adaptive: bool,
        switch: Optional[tuple[str, object, object]] = None,
        keyword_only: tuple[str, ...] = (),
        library: str = "",
    ) -> OptimizerSpec:
        return OptimizerSpec(name, positional, keyword_only, default, coupling, adaptive, switch, library)

    adam_pos = ("lr", "betas", "eps", "weight_decay", "amsgrad", "optim_bits", "args", "min_8bit_size")
    bnb_tail = ("percentile_clipping", "block_wise", "is_paged", "max_unorm")
    sgd_pos = ("lr", "momentum", "dampening", "weight_decay", "nesterov")

    transformers = {
        "AdamW": spec("AdamW", ("lr", "betas", "eps", "weight_decay", "correct_bias", "no_deprecation_warning"), 0.0, "decoupled", True),
        "Adafactor": spec("Adafactor", ("lr", "eps", "clip_threshold", "decay_rate", "beta1", "weight_decay", "scale_parameter", "relative_step", "warmup_init"), 0.0, "decoupled", True),
    }
    apex = {
        "FusedAdam": spec("FusedAdam", ("lr", "bias_correction", "betas", "eps", "adam_w_mode", "weight_decay", "amsgrad", "set_grad_none"), 0.0, "switchable", True, ("adam_w_mode", True, True), ("capturable", "master_weights")),
        "FusedLAMB": spec("FusedLAMB", ("lr", "bias_correction", "betas", "eps", "weight_decay", "amsgrad", "adam_w_mode", "grad_averaging", "set_grad_none", "max_grad_norm", "use_nvlamb"), 0.01, "switchable", True, ("adam_w_mode", True, True)),
        "FusedSGD": spec("FusedSGD", sgd_pos + ("wd_after_momentum", "materialize_master_grads"), 0.0, "coupled", False),
        "FusedNovoGrad": spec("FusedNovoGrad", ("lr", "bias_correction", "betas", "eps", "weight_decay", "amsgrad", "reg_inside_moment", "grad_averaging", "norm_type", "init_zero", "set_grad_none"), 0.0, "decoupled", True),
    }
    bnb: dict[str, OptimizerSpec] = {}
    for name in ("Adam", "Adam8bit", "Adam32bit", "PagedAdam", "PagedAdam8bit", "PagedAdam32bit"):
        bnb[name] = spec(name, adam_pos, 0.0, "decoupled", True, keyword_only=bnb_tail)
    for name in ("AdamW", "AdamW8bit", "AdamW32bit", "PagedAdamW", "PagedAdamW8bit", "PagedAdamW32bit"):
        bnb[name] = spec(name, adam_pos, 0.01, "decoupled", True, keyword_only=bnb_tail)
    for name in ("Lion", "PagedLion", "Lion8bit", "Lion32bit", "PagedLion8bit", "PagedLion32bit"):
        bnb[name] = spec(name, ("lr", "betas", "weight_decay"), 0.0, "decoupled", True, keyword_only=("optim_bits", "args", "min_8bit_size") + bnb_tail)
    for name in ("SGD", "SGD8bit", "SGD32bit"):
        bnb[name] = spec(name, sgd_pos, 0.0, "coupled", False, keyword_only=("optim_bits", "args", "min_8bit_size") + bnb_tail)
    for name in ("RMSprop", "RMSprop8bit", "RMSprop32bit"):
        bnb[name] = spec(name, ("lr", "alpha", "eps", "weight_decay", "momentum", "centered"), 0.0, "coupled", True, keyword_only=("optim_bits", "args", "min_8bit_size") + bnb_tail)
    for name in ("Adagrad", "Adagrad8bit", "Adagrad32bit"):
        bnb[name] = spec(name, ("lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps"), 0.0, "coupled", True, keyword_only=("optim_bits", "args", "min_8bit_size") + bnb_tail)
    for name in ("LAMB", "LAMB8bit", "LAMB32bit"):
        bnb[name] = spec(name, ("lr", "bias_correction", "betas", "eps", "weight_decay", "amsgrad", "adam_w_mode"), 0.0, "decoupled", True, keyword_only=("optim_bits", "args", "min_8bit_size") + bnb_tail)
    for name in ("LARS", "LARS8bit", "LARS32bit"):
        bnb[name] = spec(name, sgd_pos, 0.0, "coupled", False, keyword_only=("optim_bits", "args", "min_8bit_size") + bnb_tail)

    torch_optimizer = {
        "AccSGD": spec("AccSGD", ("lr", "kappa", "xi", "small_const", "weight_decay"), 0.0, "coupled", False),
        "AdaBelief": spec("AdaBelief", ("lr", "betas", "eps", "weight_decay", "amsgrad", "weight_decouple", "fixed_decay", "rectify"), 0.0, "switchable", True, ("weight_decouple", False, True)),
        "AdaBound": spec("AdaBound", ("lr", "betas", "final_lr", "gamma", "eps", "weight_decay", "amsbound"), 0.0, "coupled", True),
        "Adafactor": spec("Adafactor", ("lr", "eps2", "clip_threshold", "decay_rate", "beta1", "weight_decay", "scale_parameter", "relative_step", "warmup_init"), 0.0, "decoupled", True),
        "Adahessian": spec("Adahessian", ("lr", "betas", "eps", "weight_decay", "hessian_power", "seed"), 0.0, "decoupled", True),
        "AdaMod": spec("AdaMod", ("lr", "betas", "beta3", "eps", "weight_decay"), 0.0, "decoupled", True),
        "AdamP": spec("AdamP", ("lr", "betas", "eps", "weight_decay", "delta", "wd_ratio", "nesterov"), 0.0, "decoupled", True),
        "AggMo": spec("AggMo", ("lr", "betas", "weight_decay"), 0.0, "coupled", False),
        "Apollo": spec("Apollo", ("lr", "beta", "eps", "warmup", "init_lr", "weight_decay"), 0.0, "coupled", True),
        "DiffGrad": spec("DiffGrad", ("lr", "betas", "eps", "weight_decay"), 0.0, "coupled", True),
        "Lamb": spec("Lamb", ("lr", "betas", "eps", "weight_decay", "clamp_value", "adam", "debias"), 0.0, "decoupled", True),
        "LARS": spec("LARS", sgd_pos + ("trust_coefficient", "eps"), 0.0, "coupled", False),
        "MADGRAD": spec("MADGRAD", ("lr", "momentum", "weight_decay", "eps"), 0.0, "coupled", True),
        "NovoGrad": spec("NovoGrad", ("lr", "betas", "eps", "weight_decay", "grad_averaging", "amsgrad"), 0.0, "decoupled", True),
        "PID": spec("PID", ("lr", "momentum", "dampening", "weight_decay", "integral", "derivative"), 0.0, "coupled", False),
        "QHAdam": spec("QHAdam", ("lr", "betas", "nus", "weight_decay", "decouple_weight_decay", "eps"), 0.0, "switchable", True, ("decouple_weight_decay", False, True)),
        "RAdam": spec("RAdam", ("lr", "betas", "eps", "weight_decay"), 0.0, "decoupled", True),
        "Ranger": spec("Ranger", ("lr", "alpha", "k", "N_sma_threshhold", "betas", "eps", "weight_decay"), 0.0, "decoupled", True),
        "RangerQH": spec("RangerQH", ("lr", "betas", "nus", "weight_decay", "k", "alpha", "decouple_weight_decay", "eps"), 0.0, "switchable", True, ("decouple_weight_decay", False, True)),
        "RangerVA": spec("RangerVA", ("lr", "alpha", "k", "n_sma_threshhold", "betas", "eps", "weight_decay"), 0.0, "decoupled", True),
        "SGDP": spec("SGDP", ("lr", "momentum", "dampening", "eps", "weight_decay", "delta", "wd_ratio", "nesterov"), 0.0, "decoupled", False),
        "SGDW": spec("SGDW", sgd_pos, 0.0, "decoupled", False),
        "Shampoo": spec("Shampoo", ("lr", "momentum", "weight_decay", "epsilon", "update_freq"), 0.0, "coupled", True),
        "SWATS": spec("SWATS", ("lr", "betas", "eps", "weight_decay", "amsgrad", "nesterov"), 0.0, "coupled", True),
        "Yogi": spec("Yogi", ("lr", "betas", "eps", "initial_accumulator", "weight_decay"), 0.0, "coupled", True),
        "A2GradExp": spec("A2GradExp", ("lr", "beta", "lips", "rho"), None, None, False),
        "A2GradInc": spec("A2GradInc", ("lr", "beta", "lips"), None, None, False),
        "A2GradUni": spec("A2GradUni", ("lr", "beta", "lips"), None, None, False),
    }
    timm = {
        "AdamP": spec("AdamP", ("lr", "betas", "eps", "weight_decay", "delta", "wd_ratio", "nesterov"), 0.0, "decoupled", True),
        "Lamb": spec("Lamb", ("lr", "bias_correction", "betas", "eps", "weight_decay"), 0.01, "decoupled", True, keyword_only=("grad_averaging", "max_grad_norm", "trust_clip", "always_adapt", "caution", "decoupled_decay", "corrected_weight_decay", "foreach")),
        "AdamWLegacy": spec("AdamWLegacy", ("lr", "betas", "eps", "weight_decay", "amsgrad"), 0.01, "decoupled", True),
        "Lion": spec("Lion", ("lr", "betas", "weight_decay"), 0.0, "decoupled", True, keyword_only=("caution", "corrected_weight_decay", "maximize", "foreach")),
        "Adan": spec("Adan", ("lr", "betas", "eps", "weight_decay", "no_prox"), 0.0, "decoupled", True),
        "NAdamW": spec("NAdamW", ("lr", "betas", "eps", "weight_decay"), 0.01, "decoupled", True, keyword_only=("caution", "corrected_weight_decay", "maximize", "foreach", "capturable", "clipping_threshold")),
        "NAdamLegacy": spec("NAdamLegacy", ("lr", "betas", "eps", "weight_decay", "schedule_decay"), 0.0, "coupled", True),
        "RAdamLegacy": spec("RAdamLegacy", ("lr", "betas", "eps", "weight_decay"), 0.0, "decoupled", True),
        "RMSpropTF": spec("RMSpropTF", ("lr", "alpha", "eps", "weight_decay", "momentum", "centered", "decoupled_decay"), 0.0, "switchable", True, ("decoupled_decay", False, True)),
        "SGDW": spec("SGDW", sgd_pos, 0.0, "decoupled", False),
        "SGDP": spec("SGDP", sgd_pos + ("eps", "delta", "wd_ratio"), 0.0, "decoupled", False),
        "Lars": spec("Lars", sgd_pos + ("trust_coeff", "eps", "trust_clip", "always_adapt"), 0.0, "coupled", False),
        "MADGRAD": spec("MADGRAD", ("lr", "momentum", "weight_decay", "eps", "decoupled_decay"), 0.0, "switchable", True, ("decoupled_decay", False, True)),
        "AdaBelief": spec("AdaBelief", ("lr", "betas", "eps", "weight_decay", "amsgrad", "decoupled_decay"), 0.0, "switchable", True, ("decoupled_decay", True, True)),
        "Adafactor": spec("Adafactor", ("lr", "eps", "eps_scale", "clip_threshold", "decay_rate", "betas", "weight_decay"), 0.0, "decoupled", True),
        "Adopt": spec("Adopt", ("lr", "betas", "eps", "clip_exp", "weight_decay", "decoupled"), 0.0, "switchable", True, ("decoupled", False, True)),
        "LaProp": spec("LaProp", ("lr", "betas", "eps", "weight_decay"), 0.0, "decoupled", True),
    }
    lion_pytorch = {"Lion": spec("Lion", ("lr", "betas", "weight_decay", "use_triton", "decoupled_weight_decay"), 0.0, "decoupled", True)}
    dadaptation = {
        "DAdaptAdam": spec("DAdaptAdam", ("lr", "betas", "eps", "weight_decay", "log_every", "decouple"), 0.0, "switchable", True, ("decouple", False, True)),
        "DAdaptSGD": spec("DAdaptSGD", ("lr", "momentum", "weight_decay"), 0.0, "coupled", False),
        "DAdaptAdaGrad": spec("DAdaptAdaGrad", ("lr", "momentum", "log_every", "weight_decay", "eps"), 0.0, "coupled", True),
        "DAdaptAdan": spec("DAdaptAdan", ("lr", "betas", "eps", "weight_decay"), 0.02, "decoupled", True),
        "DAdaptLion": spec("DAdaptLion", ("lr", "betas", "weight_decay"), 0.0, "decoupled", True),
    }
    prodigyopt = {"Prodigy": spec("Prodigy", ("lr", "betas", "beta3", "eps", "weight_decay", "decouple"), 0.0, "switchable", True, ("decouple", True, True))}
    schedulefree = {
        "AdamWScheduleFree": spec("AdamWScheduleFree", ("lr", "betas", "eps", "weight_decay"), 0.0, "decoupled", True),
        "RAdamScheduleFree": spec("RAdamScheduleFree", ("lr", "betas", "eps", "weight_decay"), 0.0, "decoupled", True),
        "SGDScheduleFree": spec("SGDScheduleFree", ("lr", "momentum", "weight_decay"), 0.0, "coupled", False),
    }
    deepspeed = {
        "FusedAdam": spec("FusedAdam", ("lr", "bias_correction", "betas", "eps", "adam_w_mode", "weight_decay", "amsgrad", "set_grad_none"), 0.0, "switchable", True, ("adam_w_mode", True, True)),
        "DeepSpeedCPUAdam": spec("DeepSpeedCPUAdam", ("lr", "bias_correction", "betas", "eps", "weight_decay", "amsgrad", "adamw_mode"), 0.0, "switchable", True, ("adamw_mode", True, True)),
        "FusedLamb": spec("FusedLamb", ("lr", "bias_correction", "betas", "eps", "eps_inside_sqrt", "weight_decay"), 0.0, "decoupled", True),
    }
    colossalai = {
        "HybridAdam": spec("HybridAdam", ("lr", "bias_correction", "betas", "eps", "weight_decay", "adamw_mode"), 0.0, "switchable", True, ("adamw_mode", True, True)),
        "CPUAdam": spec("CPUAdam", ("lr", "bias_correction", "betas", "eps", "weight_decay", "adamw_mode"), 0.0, "switchable", True, ("adamw_mode", True, True)),
    }
    madgrad = {"MADGRAD": spec("MADGRAD", ("lr", "momentum", "weight_decay", "eps", "decouple_decay"), 0.0, "switchable", True, ("decouple_decay", False, True))}
    pl_bolts = {"LARS": spec("LARS", sgd_pos + ("trust_coefficient", "eps"), 0.0, "coupled", False)}

    tables = {
        "transformers": transformers,
        "apex.optimizers": apex,
        "bitsandbytes.optim": bnb,
        "bitsandbytes": bnb,
        "torch_optimizer": torch_optimizer,
        "pytorch_ranger": {k: torch_optimizer[k] for k in ("Ranger", "RangerQH", "RangerVA")},
        "timm.optim": timm,
        "lion_pytorch": lion_pytorch,
        "dadaptation": dadaptation,
        "prodigyopt": prodigyopt,
        "schedulefree": schedulefree,
        "deepspeed.ops": deepspeed,
        "colossalai.nn.optimizer": colossalai,
        "madgrad": madgrad,
        "pl_bolts.optimizers": pl_bolts,
    }
    return {
        package: {name: replace(entry, library=package.split(".")[0]) for name, entry in table.items()}
        for package, table in tables.items()
    }


# timm's optimizer factory: the `opt` string -> (package of the class, class name, extra keyword).
TIMM_OPTS: dict[str, tuple[str, str]] = {
    "sgd": ("torch", "SGD"), "nesterov": ("torch", "SGD"), "momentum": ("torch", "SGD"),
    "adam": ("torch", "Adam"), "adamw": ("torch", "AdamW"), "nadam": ("torch", "NAdam"),
    "radam": ("torch", "RAdam"), "adamax": ("torch", "Adamax"), "adagrad": ("torch", "Adagrad"),
    "adadelta": ("torch", "Adadelta"), "rmsprop": ("torch", "RMSprop"),
    "nadamw": ("timm.optim", "NAdamW"), "rmsproptf": ("timm.optim", "RMSpropTF"), "lamb": ("timm.optim", "Lamb"),
    "lion": ("timm.optim", "Lion"), "adamp": ("timm.optim", "AdamP"), "sgdp": ("timm.optim", "SGDP"),
    "sgdw": ("timm.optim", "SGDW"), "adafactor": ("timm.optim", "Adafactor"), "lars": ("timm.optim", "Lars"),
    "adabelief": ("timm.optim", "AdaBelief"), "laprop": ("timm.optim", "LaProp"), "adan": ("timm.optim", "Adan"),
    "fusedadamw": ("apex.optimizers", "FusedAdam"),
}
# Factories: qualified name -> (position of `opt`, default opt, position of weight_decay, default
# weight_decay, position of filter_bias_and_bn). timm's create_optimizer_v2 keeps every 1-D
# parameter (biases, norm gains) out of decay when given a module, unless filter_bias_and_bn=False.
FACTORIES: dict[str, tuple[int, str, int, float, int]] = {
    "timm.optim.create_optimizer_v2": (1, "sgd", 3, 0.0, 6),
    "timm.optim.optim_factory.create_optimizer_v2": (1, "sgd", 3, 0.0, 6),
}

# transformers' Trainer builds its own optimizer (Trainer.create_optimizer, 4.30-5.x) when none is
# handed to it (`optimizers=`) and no subclass overrides the hook: two groups of the model's
# parameters, `args.weight_decay` for the weights and 0.0 for biases and norm layers' parameters
# (get_decay_parameter_names), of the class `args.optim` names. A subclass builds the same.
TRAINERS = frozenset({
    "transformers.Trainer", "transformers.trainer.Trainer",
    "transformers.Seq2SeqTrainer", "transformers.trainer_seq2seq.Seq2SeqTrainer",
})
TRAINER_OPTIMIZER_HOOKS = frozenset({"create_optimizer", "create_optimizer_and_scheduler"})
# skorch's nets (and braindecode's, built on them) construct `optimizer` (a class, SGD by default)
# over every parameter of the module, with the keywords spelled `optimizer__<name>`
# (`optimizer__weight_decay=1e-4`); `optimizer__param_groups` sets groups by parameter name.
NETS = frozenset({
    "skorch.NeuralNet", "skorch.net.NeuralNet",
    "skorch.NeuralNetClassifier", "skorch.classifier.NeuralNetClassifier",
    "skorch.NeuralNetBinaryClassifier", "skorch.classifier.NeuralNetBinaryClassifier",
    "skorch.NeuralNetRegressor", "skorch.regressor.NeuralNetRegressor",
    "braindecode.EEGClassifier", "braindecode.classifier.EEGClassifier",
    "braindecode.EEGRegressor", "braindecode.regressor.EEGRegressor",
})
NET_DEFAULT_OPTIMIZER = "torch.optim.SGD"
NET_OPTIMIZER_PREFIX = "optimizer__"
# Its arguments object: the fields the optimizer reads, with their defaults.
TRAINING_ARGUMENTS = frozenset({
    "transformers.TrainingArguments", "transformers.training_args.TrainingArguments",
    "transformers.Seq2SeqTrainingArguments", "transformers.training_args_seq2seq.Seq2SeqTrainingArguments",
})
TRAINER_DEFAULT_OPTIM = "adamw_torch"
TRAINING_ARGUMENT_DEFAULTS: tuple[tuple[str, object], ...] = (("weight_decay", 0.0), ("optim", TRAINER_DEFAULT_OPTIM))
# `args.optim` -> (package of the class, class name): the names whose class the table knows.
TRAINER_OPTIMS: dict[str, tuple[str, str]] = {
    "adamw_torch": ("torch", "AdamW"), "adamw_torch_fused": ("torch", "AdamW"),
    "adamw_torch_xla": ("torch", "AdamW"), "adamw_torch_npu_fused": ("torch", "AdamW"),
    "adamw_hf": ("transformers", "AdamW"), "adamw_apex_fused": ("apex.optimizers", "FusedAdam"),
    "adafactor": ("transformers", "Adafactor"),
    "sgd": ("torch", "SGD"), "adagrad": ("torch", "Adagrad"), "rmsprop": ("torch", "RMSprop"),
    "adamw_bnb_8bit": ("bitsandbytes.optim", "AdamW8bit"), "adamw_8bit": ("bitsandbytes.optim", "AdamW8bit"),
    "paged_adamw_8bit": ("bitsandbytes.optim", "PagedAdamW8bit"), "paged_adamw_32bit": ("bitsandbytes.optim", "PagedAdamW32bit"),
    "lion_8bit": ("bitsandbytes.optim", "Lion8bit"), "lion_32bit": ("bitsandbytes.optim", "Lion32bit"),
    "paged_lion_8bit": ("bitsandbytes.optim", "PagedLion8bit"), "paged_lion_32bit": ("bitsandbytes.optim", "PagedLion32bit"),
    "rmsprop_bnb": ("bitsandbytes.optim", "RMSprop"), "rmsprop_bnb_8bit": ("bitsandbytes.optim", "RMSprop8bit"),
    "rmsprop_bnb_32bit": ("bitsandbytes.optim", "RMSprop32bit"),
}
