"""The project a file belongs to: its root, and which of its files an import names.

A training setup is spread over a project's modules (model.py, losses.py, config.py, train.py),
so the analysis of one file reads the project modules it imports. The root is found as ruff and
pyright find it: the nearest directory above the file holding pyproject.toml, setup.cfg, setup.py
or .git; without one, the file's own directory. An absolute import is looked up, in order, next
to the importing file (a script's directory is first on sys.path), at the root, and under the
root's src/ (the src layout); a relative import from the importer's package. Only files under the
root are followed: third-party and standard-library modules are not read.

Reading a module (decoding and parsing it) is done once per process for each (path, size,
mtime): a directory run reads each project module once per worker, whatever imports it.
"""

from __future__ import annotations

import ast
import hashlib
import os
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable, Iterator, Optional, TypeVar, Union

from reglint.analysis.triage.words import whole_words
from reglint.analysis.vocabulary import BACKWARD_FUNCTIONS, LOSS_NAME, NAME_STEMS, PENALTY_NAME

if TYPE_CHECKING:
    import libcst as cst

T = TypeVar("T")

ROOT_MARKERS = ("pyproject.toml", "setup.cfg", "setup.py", ".git")
# Directories never followed into, wherever they are (virtual environments, build output).
_SKIPPED_PARTS = frozenset({"site-packages", "dist-packages", ".venv", "venv", ".tox", ".nox", "build", "node_modules", "__pycache__"})
MAX_MODULE_BYTES = 2_000_000  # a generated module this large is not read for an importer


def find_root(path: Path) -> Path:
    """The nearest directory above `path` with a project marker; without one, the working
    directory when `path` is below it (where `reglint check` and pre-commit run), else its own."""
    directory = path.parent
    marked = _marked_root(directory)
    if marked is not None:
        return marked
    cwd = Path.cwd().resolve()
    return cwd if path.is_relative_to(cwd) else directory


def _marked_root(directory: Path) -> Optional[Path]:
    """The nearest directory from `directory` up with a project marker (looked up once per
    directory in a process, as the directories' listings are: Project._listing)."""
    if directory not in _MARKED_ROOTS:
        if any((directory / marker).exists() for marker in ROOT_MARKERS):
            _MARKED_ROOTS[directory] = directory
        else:
            parent = directory.parent
            _MARKED_ROOTS[directory] = _marked_root(parent) if parent != directory else None
    return _MARKED_ROOTS[directory]


_MARKED_ROOTS: dict[Path, Optional[Path]] = {}


@dataclass
class LoadedModule:
    """A project module as read for an importer: its text, digest and CPython tree (None:
    unreadable or unparsable). libcst, ten times slower, parses only the pieces the importer's
    analysis runs (`snippet`), each once per process."""

    path: Path
    digest: str
    text: Optional[str]
    _snippets: dict[int, Optional["cst.Module"]] = field(default_factory=dict)
    _lines: Optional[list[str]] = None
    _derived: dict[str, object] = field(default_factory=dict)

    def derived(self, key: str, compute: Callable[["LoadedModule"], T]) -> T:
        """What `compute` makes of this module (its import map, its index of definitions),
        computed once per content: every importer in the process reads the same."""
        if key not in self._derived:
            self._derived[key] = compute(self)
        return self._derived[key]  # type: ignore[return-value]

    @property
    def tree(self) -> Optional[ast.Module]:
        """CPython's tree of the text, parsed when first asked for (deciding whether a module
        trains reads only its text)."""
        return self.derived("tree", _python_tree)

    def snippet(self, node: ast.stmt) -> Optional["cst.Module"]:
        """The statement `node` (a def, a class, an assignment) parsed by libcst on its own, at
        the lines it has in the file (a string literal stands in for the lines above it), and
        dedented to column 0."""
        found = self._snippets.get(id(node), False)
        if found is not False:
            return found  # type: ignore[return-value]
        parsed = self._parse_snippet(node)
        self._snippets[id(node)] = parsed
        return parsed

    def segment(self, node: Union[ast.expr, ast.stmt]) -> Optional[str]:
        """The source of an expression or a statement (ast columns count UTF-8 bytes)."""
        if self.text is None or node.end_lineno is None or node.end_col_offset is None:
            return None
        if self._lines is None:
            self._lines = self.text.splitlines(keepends=True)
        lines = [line.encode("utf-8") for line in self._lines[node.lineno - 1 : node.end_lineno]]
        if not lines:
            return None
        if len(lines) == 1:
            piece = lines[0][node.col_offset : node.end_col_offset]
        else:
            piece = lines[0][node.col_offset :] + b"".join(lines[1:-1]) + lines[-1][: node.end_col_offset]
        return piece.decode("utf-8", errors="replace")

    def _parse_snippet(self, node: ast.stmt) -> Optional["cst.Module"]:
        import textwrap

        import libcst as cst

        if self.text is None:
            return None
        if self._lines is None:
            self._lines = self.text.splitlines(keepends=True)
        decorators = getattr(node, "decorator_list", [])
        first = min([node.lineno] + [d.lineno for d in decorators])
        last = node.end_lineno or node.lineno
        body = textwrap.dedent("".join(self._lines[first - 1 : last]))
        prefix = '"""' + "\n" * (first - 2) + '"""\n' if first > 1 else ""
        try:
            from reglint.engine.runner import parse_module

            return parse_module(prefix + body)
        except (cst.ParserSyntaxError, RecursionError, ValueError):
            return None


def _python_tree(loaded: LoadedModule) -> Optional[ast.Module]:
    if loaded.text is None:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return ast.parse(loaded.text, filename=str(loaded.path))
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


@dataclass
class Project:
    root: Path
    _modules: dict[Path, tuple[tuple[int, int], LoadedModule]] = field(default_factory=dict)
    _resolved: dict[tuple[Path, str, int], Optional[Path]] = field(default_factory=dict)
    # What a directory holds, read once: an import is looked up in several directories, and most
    # of the candidate files do not exist (a stat each, many times over, otherwise).
    _listings: dict[Path, frozenset[str]] = field(default_factory=dict)
    _displays: dict[tuple[Path, Path], str] = field(default_factory=dict)
    _search_roots: dict[Path, list[Path]] = field(default_factory=dict)
    _resolved_root: Optional[Path] = None
    _project_files: dict[Path, bool] = field(default_factory=dict)  # a candidate -> is it one

    # ------------------------------------------------------------------ resolution

    def search_roots(self, importer: Path) -> list[Path]:
        """Where an absolute import is looked up: the importer's directory (a script's), each
        directory above it up to the root (scripts that put their repository on sys.path), the
        root's src/."""
        found = self._search_roots.get(importer.parent)
        if found is None:
            found = self._search_roots[importer.parent] = self._roots_above(importer)
        return found

    def _roots_above(self, importer: Path) -> list[Path]:
        roots = [importer.parent]
        if importer.is_relative_to(self.root):
            roots.extend(p for p in importer.parent.parents if p.is_relative_to(self.root))
        roots += [self.root, self.root / "src"]
        out: list[Path] = []
        for root in roots:
            if root not in out:
                out.append(root)
        return out

    def module_file(self, importer: Path, module: str, level: int) -> Optional[Path]:
        """The file of module `module` (dotted; "" for the package itself with a relative level)
        as imported from `importer`, or None when it is not a project file."""
        key = (importer.parent, module, level)
        if key not in self._resolved:
            self._resolved[key] = self._module_file(importer, module, level)
        return self._resolved[key]

    def _module_file(self, importer: Path, module: str, level: int) -> Optional[Path]:
        parts = [part for part in module.split(".") if part]
        if level > 0:
            base = importer.parent
            for _ in range(level - 1):
                base = base.parent
            bases = [base]
        else:
            if not parts:
                return None
            bases = self.search_roots(importer)
        for base in bases:
            found = self._file_under(base, parts)
            if found is not None:
                return found
        return None

    def _file_under(self, base: Path, parts: list[str]) -> Optional[Path]:
        if parts and not ({parts[0], parts[0] + ".py"} & self._listing(base)):
            return None  # (most imports name a package that is not here: no path is built)
        target = base.joinpath(*parts) if parts else base
        for candidate in (target.with_name(target.name + ".py") if parts else None, target / "__init__.py"):
            if candidate is not None and self._may_exist(candidate) and self._project_file(candidate):
                return candidate
        return None

    def _project_file(self, candidate: Path) -> bool:
        found = self._project_files.get(candidate)
        if found is None:
            found = self._project_files[candidate] = candidate.is_file() and self.contains(candidate)
        return found

    def _may_exist(self, path: Path) -> bool:
        return path.name in self._listing(path.parent)

    def _listing(self, directory: Path) -> frozenset[str]:
        listing = self._listings.get(directory)
        if listing is None:
            try:
                listing = frozenset(os.listdir(directory))
            except OSError:
                listing = frozenset()
            self._listings[directory] = listing
        return listing

    def contains(self, path: Path) -> bool:
        if self._resolved_root is None:
            self._resolved_root = self.root.resolve()
        try:
            relative = path.resolve().relative_to(self._resolved_root)
        except ValueError:
            return False
        return not any(part in _SKIPPED_PARTS for part in relative.parts)

    def display(self, path: Path, importer: Path) -> str:
        """How a message names another project file: relative to the importer's directory when
        below it, else to the root."""
        key = (path, importer.parent)
        shown = self._displays.get(key)
        if shown is None:
            shown = self._displays[key] = self._display(path, importer)
        return shown

    def _display(self, path: Path, importer: Path) -> str:
        resolved = path.resolve()
        for base in (importer.parent, self.root):
            if resolved.is_relative_to(base.resolve()):
                return os.path.relpath(resolved, base.resolve())
        return str(path)

    # ------------------------------------------------------------------ reading

    def load(self, path: Path) -> Optional[LoadedModule]:
        try:
            stat = path.stat()
        except OSError:
            return None
        key = (stat.st_size, stat.st_mtime_ns)
        cached = self._modules.get(path)
        if cached is not None and cached[0] == key:
            return cached[1]
        loaded = self._read(path, stat.st_size)
        if loaded is not None:
            self._modules[path] = (key, loaded)
        return loaded

    @staticmethod
    def _read(path: Path, size: int) -> Optional[LoadedModule]:
        try:
            data = path.read_bytes()
        except OSError:
            return None
        digest = hashlib.blake2b(data, digest_size=16).hexdigest()
        if size > MAX_MODULE_BYTES:
            return LoadedModule(path, digest, None)
        from reglint.engine.source import decode

        text, error = decode(data, str(path))
        if text is None or error is not None:
            return LoadedModule(path, digest, None)
        return LoadedModule(path, digest, text)


_PROJECTS: dict[Path, Project] = {}


def project_for(path: Path) -> Project:
    """The (process-wide) project of a file, found from its location."""
    root = find_root(path.resolve())
    project = _PROJECTS.get(root)
    if project is None:
        project = _PROJECTS[root] = Project(root)
    return project


_IMPORT_LINE = re.compile(
    r"(?:^|;)[ \t]*(?:from[ \t]+(\.*)[ \t]*([\w.]*)[ \t]+import[ \t]*(\([^)]*\)|[^\n;#]*)"
    r"|import[ \t]+([\w.]+(?:[ \t]*,[ \t]*[\w.]+)*))",
    re.M,
)


def project_imports(text: str, file: Path) -> list[Path]:
    """The project modules this text imports (a `from X import a` names X, and X.a where that is
    a module), read from the import lines of the text: any line that looks like one counts (a
    string that happens to hold one only adds work)."""
    return _paths(_imported(text, file))


def _paths(imported: Iterable[tuple[Path, list[str]]]) -> list[Path]:
    found: list[Path] = []
    for path, _ in imported:
        if path not in found:
            found.append(path)
    return found


def penalty_helper_imports(text: str, file: Path, imported: Optional[list[tuple[Path, list[str]]]] = None) -> list[Path]:
    """The project modules this text imports a name from that names a penalty (`from losses
    import l2_regularization`, `from .regularizers import EmbeddingRegularizer`, `import
    regularizers`): helpers whose penalty a training step builds by calling them. (A helper named
    otherwise is not followed from a step that builds no optimizer: a library's trainer calls
    many project functions with `model.parameters()`, and running all of them costs more than
    the analysis of the step itself.) `imported`: _imported's answer, where the caller has it."""
    return _helper_imports(text, file, lambda name: bool(PENALTY_NAME.search(name)), imported)


def loss_helper_imports(text: str, file: Path) -> list[Path]:
    """The project modules this text imports a name from that names a penalty or a loss (`from
    common.loss import BPRLoss, EmbLoss`): what a model's loss method calls to build its terms."""
    return _helper_imports(text, file, lambda name: bool(PENALTY_NAME.search(name) or LOSS_NAME.search(name)))


def _helper_imports(
    text: str, file: Path, named: Callable[[str], bool], imported: Optional[list[tuple[Path, list[str]]]] = None
) -> list[Path]:
    """The project modules this text imports a name from that `named` accepts, in order."""
    found: list[Path] = []
    for path, names in imported if imported is not None else _imported(text, file):
        if path not in found and any(named(name) for name in names):
            found.append(path)
    return found


# How a name spells a penalty or a loss, in lowercase text (`l2_reg`, `mf_loss`).
PENALTY_SPELLINGS = tuple(spelling for spelling in NAME_STEMS if PENALTY_NAME.fullmatch(spelling))
LOSS_SPELLINGS = tuple(spelling for spelling in NAME_STEMS if LOSS_NAME.fullmatch(spelling))


def adds_a_penalty_to_a_loss(text: str) -> bool:
    """A line that adds (`+`) something spelt like a penalty to something spelt like a loss
    (`loss = loss + self.l2_coef * l2`, `return mf_loss + self.reg_weight * reg_loss`)."""
    lowered = text.lower()
    if not any(stem in lowered for stem in LOSS_SPELLINGS):
        return False
    at = lowered.find("+")
    while at != -1:
        start = lowered.rfind("\n", 0, at) + 1
        end = lowered.find("\n", at)
        end = len(lowered) if end == -1 else end
        line = lowered[start:end]
        if any(stem in line for stem in LOSS_SPELLINGS) and any(stem in line for stem in PENALTY_SPELLINGS):
            return True
        at = lowered.find("+", end)
    return False


def _joins_a_penalty_to_a_loss(text: str) -> bool:
    """adds_a_penalty_to_a_loss of the text, and of its code (strings and comments aside)."""
    return adds_a_penalty_to_a_loss(text) and adds_a_penalty_to_a_loss(_code_only(text))


def _imported(text: str, file: Path, top_level: bool = False) -> Iterator[tuple[Path, list[str]]]:
    """Each project module an import line names, with the names the line takes from it (for
    `import a.b`, the module's own last name); with `top_level`, only the lines of the module's
    own top level (a function importing a trainer when it runs is no script wiring one)."""
    project = project_for(file)
    importer = file.resolve()
    for match in _IMPORT_LINE.finditer(text):
        if top_level and text[match.start()] in " \t;":
            continue
        dots, module, names, plain = match.groups()
        candidates: list[tuple[str, int, list[str]]] = []
        if plain is not None:
            candidates = [(name.strip(), 0, [name.strip().rpartition(".")[2]]) for name in plain.split(",")]
        else:
            level = len(dots or "")
            taken = []
            for name in (names or "").strip("()").replace("\n", ",").split(","):
                name = name.strip().split(" as ")[0].strip()
                if name and name != "*" and name.isidentifier():
                    taken.append(name)
            candidates = [(module or "", level, taken)]
            candidates += [(f"{module}.{name}" if module else name, level, [name]) for name in taken]
        for name, level, taken in candidates:
            if not name and not level:
                continue
            path = project.module_file(importer, name, level)
            if path is not None and path != importer:
                yield path, taken


def imports_project_module(text: str, file: Path) -> bool:
    """Does this text import a module of its own project?"""
    return bool(project_imports(text, file))


def names_backward(text: str) -> bool:
    """A backward function's name as a whole word (str.find: a pattern led by `\\b` scans slowly)."""
    return next(whole_words(text, BACKWARD_FUNCTIONS), None) is not None


def reads_project_code(text: str, file: Path, loss_helpers: bool = True) -> tuple[bool, dict[str, str]]:
    """Does the analysis of this module run code of its project's other modules? When it sets up
    training: it constructs an optimizer itself (triage/training.trains), or it wires a training
    setup from project modules: it imports one that may construct an optimizer (an optimizer
    factory, training.trains of its text: a class called, or held as a value that a call may call,
    `_OPTIMIZERS[name](params, lr=lr)`), and it calls backward() or, holding an optimizer under a name (`optimizer =
    build_optimizer(model, cfg)`, `opt=...`), imports one that does (an epoch loop given the model,
    the optimizer and a penalty function: `train_one_epoch(model, loader, optimizer, reg_fn)`).
    Also returns the project modules read to decide (path -> digest): the answer holds while they
    are unchanged.

    A training step that calls backward() and imports a penalty helper from a project module
    (penalty_helper_imports: `reg = l2_regularization(params)` in an engine.py given the
    optimizer) also runs that code: the penalty it adds is built there.

    A module that makes a trainer from a class or function it imports from a project module
    that calls backward() (`trainer = Trainer(model, cfg)`, `engine = build_engine(cfg)`) runs
    that code too: it builds the model whose penalty the trainer's step adds
    (`model.get_regularization_loss()` of a class the trainer.py never sees), whatever builds the
    optimizer. So does a module that subclasses such a class (`class SegTrainer(BaseTrainer)`
    overriding `compute_loss` to add a penalty): the base class's code builds the model and the
    optimizer its methods read; and one that subclasses a class of a module that constructs an
    optimizer (`class PenalizedTrainer(BaseTrainer)` of a `BaseTrainer(transformers.Trainer)`:
    the trainer builds one for every class derived from it).

    A model's loss method that adds to its loss a penalty named like one (`loss = mf_loss +
    self.reg_weight * reg_loss`) runs the project helpers it imports named like a penalty or a
    loss (`EmbLoss`): they build the penalty's terms from the rows it hands them. That is no
    training setup: with `loss_helpers` False (the question wirers.wiring_modules asks of a candidate
    script) it does not count.

    The analysis asks this of the linted module, and the triage asks it of the same text: a module
    for which it is False takes only values from its imports, so its own text decides."""
    from reglint.analysis.triage.training import trains

    consulted: dict[str, str] = {}
    if trains(text):
        return True, consulted
    backward = _code_names_backward(text)
    trainers = set() if backward else _trainers_made(text)
    bases = set() if backward else _bases_named(text)
    wires = bool(backward or trainers or _holds_an_optimizer(text))
    if not wires and not bases:
        if loss_helpers and _joins_a_penalty_to_a_loss(text):
            # A model's loss method adding a penalty a project helper builds (`reg_loss =
            # self.reg_loss(u_e, i_e)` of `self.reg_loss = EmbLoss()`, then `loss = mf_loss +
            # self.reg_weight * reg_loss`): the form of that penalty is this module's finding.
            project = project_for(file)
            read = [loaded for loaded in map(project.load, loss_helper_imports(text, file)) if loaded is not None]
            if read:
                consulted.update((str(loaded.path), loaded.digest) for loaded in read)
                return True, consulted
        return False, consulted  # (resolving the imports of every module of a library is costly)
    project = project_for(file)
    imported = list(_imported(text, file))  # (the import lines are read once for both questions)
    if backward:
        helpers = [loaded for loaded in map(project.load, penalty_helper_imports(text, file, imported)) if loaded is not None]
        if helpers:
            consulted.update((str(loaded.path), loaded.digest) for loaded in helpers)
            return True, consulted
    paths = _paths(imported) if wires else []
    factory = False
    for path in paths:
        loaded = project.load(path)
        if loaded is None:
            continue
        consulted[str(path)] = loaded.digest
        if loaded.text is None:
            continue
        factory = factory or loaded.derived("trains", _loaded_trains)
        backward = backward or loaded.derived("names backward", _loaded_names_backward)
        if factory and backward:
            return True, consulted
    made_or_derived = trainers | bases
    for path, names in _imported(text, file, top_level=True) if made_or_derived else ():
        if made_or_derived & set(names):
            loaded = project.load(path)
            if loaded is None:
                continue
            consulted[str(path)] = loaded.digest
            if loaded.derived("names backward", _loaded_names_backward):
                return True, consulted
            derives = bool(bases & set(names))
            if derives and loaded.derived("trains", _loaded_trains):
                return True, consulted  # a base that builds an optimizer (derived from transformers' Trainer)
    return False, consulted


def joins_a_trainer(text: str) -> bool:
    """Could reads_project_code hold for this text only because it makes a trainer (it constructs
    no optimizer, calls no backward() and holds no optimizer under a name)?"""
    from reglint.analysis.triage.training import trains

    return bool(_trainers_made(text)) and not _code_names_backward(text) and not _holds_an_optimizer(text) and not trains(text)


# `trainer = Trainer(`, `self.engine = build_engine(`, `my_trainer = trainers.Trainer(`: a
# statement binding a name of a trainer to a call of one (read line by line where a stem is found:
# most modules of a library hold none, and a pattern anchored at every line start scans slowly).
_TRAINER_STEMS = ("rainer", "ngine")
# A base class named for the training it runs, by its end (`BaseTrain`, `Train`): not the stem
# "rain", which `PreTrainedModel`, the base of every transformers model, holds too.
_TRAINING_BASE_ENDS = ("Train",)
_TRAINER_MADE = re.compile(
    r"[ \t]*(?:self\.)?\w*(?:trainer|engine)\w*[ \t]*=[ \t]*((?:\w+\.)*\w*(?:[Tt]rainer|[Ee]ngine)\w*)[ \t]*\("
)


def _trainers_made(text: str) -> set[str]:
    """The names a trainer is made by (`Trainer`, and both `trainers` and `Trainer` of
    `trainers.Trainer(...)`), to be matched with the names the text imports; comments and
    strings aside."""
    if not _trainer_lines(text):
        return set()
    code = _code_only(text)
    made: set[str] = set()
    for match in _trainer_lines(code):
        parts = match.group(1).split(".")
        made.update((parts[0], parts[-1]))
    return made


# `class SegTrainer(BaseTrainer):`, `class Finetune(engine.Trainer, Mixin):` at a line's start.
_CLASS_LINE = re.compile(r"class[ \t]+\w+[ \t]*\(([^)]*)\)[ \t]*:")


def _bases_named(text: str) -> set[str]:
    """The names of the trainers a class of the text derives from (`BaseTrainer`, both `engine`
    and `Trainer` of `engine.Trainer`; named like one, as _trainers_made reads a trainer), to be
    matched with the names the text imports; read at the start of lines (comments and strings
    aside). A module of a library derives most of its classes from its own: only a trainer's
    subclass is worth running the project's code for, and only one whose code names a penalty
    (what it adds to the base's loss is the reason to follow the base: transformers'
    Seq2SeqTrainer, which adds none, would run the whole Trainer for nothing)."""
    if "class" not in text or not any(stem in text for stem in _TRAINER_STEMS + _TRAINING_BASE_ENDS) or not _derived_from_a_trainer(text):
        return set()  # (blanking strings and comments only removes matches)
    code = _code_only(text)
    return _derived_from_a_trainer(code) if PENALTY_NAME.search(code) else set()


def _derived_from_a_trainer(code: str) -> set[str]:
    """_bases_named's answer on `code` as it is."""
    named: set[str] = set()
    at = code.find("class")
    while at != -1:
        if at == 0 or code[at - 1] in " \t\n":
            match = _CLASS_LINE.match(code, at)
            if match is not None:
                for base in match.group(1).split(","):
                    parts = base.strip().split(".")
                    if all(part.isidentifier() for part in parts) and (
                        any(stem in parts[-1] for stem in _TRAINER_STEMS) or parts[-1].endswith(_TRAINING_BASE_ENDS)
                    ):
                        named.update((parts[0], parts[-1]))
        at = code.find("class", at + 5)
    return named


def _trainer_lines(text: str) -> list[re.Match[str]]:
    """_TRAINER_MADE's matches, each line that holds a stem read once."""
    found: list[re.Match[str]] = []
    starts: set[int] = set()
    for stem in _TRAINER_STEMS:
        at = text.find(stem)
        while at != -1:
            line_start = text.rfind("\n", 0, at) + 1
            if line_start not in starts:
                starts.add(line_start)
                match = _TRAINER_MADE.match(text, line_start)
                if match is not None:
                    found.append(match)
            line_end = text.find("\n", at)
            at = -1 if line_end == -1 else text.find(stem, line_end)
    return found


# A name bound or passed that holds an optimizer: `optimizer =`, `opt=`, `g_optim =`, `optimizers =`
# (matched where an "opt" starts a word or follows `_`; a case-blind pattern scanned over a whole
# library costs ten times more).
# (first of several targets too: `optimizer, scheduler = build_optimizer(groups, cfg)`)
_OPTIMIZER_NAME_AT = re.compile(r"opt(?:im(?:i[sz]er)?)?s?(?:_\w*)?\s*(?:,\s*[\w.]+\s*)*\)?\s*=(?!=)", re.IGNORECASE)


def _holds_an_optimizer(text: str) -> bool:
    for needle in ("opt", "Opt", "OPT"):
        start = text.find(needle)
        while start != -1:
            if (start == 0 or not text[start - 1].isalnum()) and _OPTIMIZER_NAME_AT.match(text, start):
                return True
            start = text.find(needle, start + 3)
    return False


def _code_only(text: str) -> str:
    """The text with strings and comments blanked (the whole text where blanking is unsure)."""
    from reglint.analysis.triage.textcut import _Unsure, blank

    try:
        return blank(text)
    except _Unsure:
        return text


def _code_names_backward(text: str) -> bool:
    """A backward function's name in the code (strings and comments left out)."""
    if not names_backward(text):
        return False  # (blanking strings and comments only removes matches)
    return names_backward(_code_only(text))


def _loaded_trains(loaded: LoadedModule) -> bool:
    from reglint.analysis.triage.training import trains

    return loaded.text is not None and trains(loaded.text)


def _loaded_names_backward(loaded: LoadedModule) -> bool:
    return loaded.text is not None and _code_names_backward(loaded.text)
