"""`reglint audit` under torchrun: each parameter's decay and penalty gradient under the file's
DDP/FSDP wrapping, measured on every rank, against the same set-up in one process (RL306).

    worker.py     one rank: process group, build, measure, report (rank 0), exit
    launch.py     `--nproc N`: start torchrun, exit with rank 0's code
    build.py      import the file and build the set-up, wrapped (`wrap(model)`) or not
    names.py      the tensors a wrapped model exposes and the values of which parameter each holds
    standin.py    a forward without data, so that the wrapper's gradient reduction runs
    measure.py    the measurement both sides run (decay with a zero gradient, the penalty's step)
    side.py       one side's result (a rank, or one process), as JSON
    exchange.py   messages between ranks through the store, each wait with a deadline
    reference.py  the one-process measurement, a child of rank 0
    compare.py    agreement within tolerances, and the words of a finding
    report.py     the report: RL306 findings, rows, notes; or exit 2
"""
