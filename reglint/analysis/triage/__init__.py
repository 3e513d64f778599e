"""The triage in front of the analysis: which files (and which functions of them) can produce a
finding, decided from the text and CPython's tree, without libcst.

- decision.py: the verdict on a file, the syntax cut, pruning, and the soundness argument;
- textcut.py: the syntax cut's units and features read from blanked text;
- components.py: units joined where the analysis can inline one into another;
- flowcut.py: values followed from parameters to term calls (and to calls of optimizer classes);
- readers.py: which of a module's units mention a word (where the flow cut must read again);
- training.py: whether a module sets up training (the analysis asks it too).

Every cut reads what the analysis follows from reglint/analysis/vocabulary.py. Running files
through the triage (and `--no-prefilter`) is the engine's: reglint/engine/prefilter.py.
"""
