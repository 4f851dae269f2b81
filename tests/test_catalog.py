"""The message catalogs: complete in both languages, and in step with the code.

Keys used in code are found with ``ast``: string literals passed to ``t(...)``, ``ctx.t(...)``,
``self.t(...)`` or ``gettext(lang, ...)`` (both branches of ``a if c else b`` too), and the
``menu_key`` / ``help_key`` class attributes of dialogs.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from wlcc.i18n import LANGUAGES, LOCALE_DIR, catalog, gettext, placeholders

ROOT = Path(__file__).absolute().parent.parent
SKIP_DIRS = {".venv", "venv", "tests", "bench", "build", "dist", ".git", "node_modules"}
KEY_ATTRIBUTES = {"menu_key", "help_key"}

# Keys that are in the catalogs on purpose although no code names them literally.
UNUSED_ALLOWED: set[str] = set()


def source_files() -> list[Path]:
    files = []
    for path in sorted(ROOT.rglob("*.py")):
        parts = path.relative_to(ROOT).parts
        if any(part in SKIP_DIRS or part.startswith(".") for part in parts[:-1]):
            continue
        files.append(path)
    return files


def po_files(lang: str) -> list[Path]:
    return sorted((LOCALE_DIR / lang / "LC_MESSAGES").glob("*.po"))


@dataclass(frozen=True)
class KeyUse:
    key: str
    where: str
    params: frozenset[str] | None  # keyword arguments given; None when **kwargs hides them


def _literal_keys(node: ast.expr) -> list[str] | None:
    """The keys an argument can be: a literal, or both branches of a conditional."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        body, orelse = _literal_keys(node.body), _literal_keys(node.orelse)
        if body is not None and orelse is not None:
            return body + orelse
    return None


def _fstring_prefix(node: ast.expr) -> str | None:
    if isinstance(node, ast.JoinedStr) and node.values:
        first = node.values[0]
        if isinstance(first, ast.Constant) and isinstance(first.value, str):
            return first.value
    return None


def _callee(node: ast.Call) -> str | None:
    func = node.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


@dataclass
class Scan:
    uses: list[KeyUse]
    prefixes: set[str]  # constant starts of f-string keys: t(f"register.error.{code}")
    literals: set[str]  # every string literal anywhere in the code


def scan(files: list[Path], root: Path = ROOT) -> Scan:
    uses: list[KeyUse] = []
    prefixes: set[str] = set()
    literals: set[str] = set()
    for path in files:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        rel = path.relative_to(root)
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                literals.add(node.value)
            for key_node, where, params in _key_arguments(node):
                keys = _literal_keys(key_node)
                if keys is None:
                    prefix = _fstring_prefix(key_node)
                    if prefix:
                        prefixes.add(prefix)
                    continue
                for key in keys:
                    uses.append(KeyUse(key, f"{rel}:{where}", params))
    return Scan(uses, prefixes, literals)


def _key_arguments(node: ast.AST) -> Iterator[tuple[ast.expr, int, frozenset[str] | None]]:
    if isinstance(node, ast.Call):
        name = _callee(node)
        position = {"t": 0, "gettext": 1}.get(name or "")
        if position is not None and len(node.args) > position:
            params: frozenset[str] | None = frozenset(
                kw.arg for kw in node.keywords if kw.arg is not None
            )
            if any(kw.arg is None for kw in node.keywords):
                params = None
            yield node.args[position], node.lineno, params
    elif isinstance(node, ast.ClassDef):
        for stmt in node.body:
            targets: list[ast.expr] = []
            value: ast.expr | None = None
            if isinstance(stmt, ast.Assign):
                targets, value = stmt.targets, stmt.value
            elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
                targets, value = [stmt.target], stmt.value
            for target in targets:
                if isinstance(target, ast.Name) and target.id in KEY_ATTRIBUTES and value:
                    if isinstance(value, ast.Constant) and value.value is None:
                        continue
                    yield value, stmt.lineno, frozenset()


# In the console's Jinja templates: t("key", ...) and t("prefix." ~ value).
TEMPLATE_KEY = re.compile(r"""\bt\(\s*(["'])([A-Za-z0-9_.]+)\1\s*(~)?""")
TEMPLATE_LITERAL = re.compile(r"""(["'])([A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)+)\1""")


def scan_templates(scan_result: Scan, root: Path = ROOT) -> Scan:
    """Add the keys the console's templates use (their placeholders are not checked here)."""
    for path in sorted((root / "console" / "templates").rglob("*.html")):
        text = path.read_text(encoding="utf-8")
        rel = path.relative_to(root)
        for match in TEMPLATE_KEY.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            if match.group(3):
                scan_result.prefixes.add(match.group(2))
            else:
                scan_result.uses.append(KeyUse(match.group(2), f"{rel}:{line}", None))
        scan_result.literals.update(m.group(2) for m in TEMPLATE_LITERAL.finditer(text))
    return scan_result


@pytest.fixture(scope="module")
def code() -> Scan:
    return scan_templates(scan(source_files()))


# --- the catalog files ---


@pytest.mark.parametrize("lang", LANGUAGES)
def test_catalog_files_parse(lang: str) -> None:
    files = po_files(lang)
    assert files, f"no catalog for {lang} in {LOCALE_DIR / lang / 'LC_MESSAGES'}"
    seen: dict[str, str] = {}
    for path in files:
        with path.open("rb") as fh:
            po = read_po(fh, locale=lang)
        for message in po:
            if not message.id:
                continue
            assert isinstance(message.id, str), f"{path.name}: plural forms are not used"
            assert message.id not in seen, (
                f"{message.id!r} is in both {seen[message.id]} and {path.name}"
            )
            seen[message.id] = path.name
            assert isinstance(message.string, str) and message.string.strip(), (
                f"{lang}/{path.name}: {message.id!r} has no text"
            )
            assert not message.fuzzy, f"{lang}/{path.name}: {message.id!r} is marked fuzzy"
    assert set(seen) == set(catalog(lang))


def test_both_languages_have_the_same_keys() -> None:
    indonesian, english = set(catalog("id")), set(catalog("en"))
    assert not indonesian - english, f"missing in English: {sorted(indonesian - english)}"
    assert not english - indonesian, f"missing in Bahasa Indonesia: {sorted(english - indonesian)}"


def test_placeholders_match_between_languages() -> None:
    wrong = {
        key: (sorted(placeholders(text)), sorted(placeholders(catalog("en").get(key, ""))))
        for key, text in catalog("id").items()
        if placeholders(text) != placeholders(catalog("en").get(key, text))
    }
    assert not wrong, f"placeholders differ (id, en): {wrong}"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_message_formats(lang: str) -> None:
    for key, text in catalog(lang).items():
        names = placeholders(text)
        if names:
            text.format(**{name: "x" for name in names})  # no stray or unbalanced braces
        else:
            assert "{" not in text and "}" not in text, f"{lang}: {key!r} has a stray brace"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_messages_have_no_stray_whitespace(lang: str) -> None:
    for key, text in catalog(lang).items():
        assert text == text.strip(), f"{lang}: {key!r} starts or ends with whitespace"
        assert "  " not in text.replace("\n", " \n"), f"{lang}: {key!r} has a double space"


# --- the code and the catalogs ---


def test_the_scan_finds_the_router_keys(code: Scan) -> None:
    keys = {use.key for use in code.uses}
    assert {"menu.header", "menu.help", "help.menu", "cancel.done", "cancel.nothing"} <= keys
    assert {"menu.language", "help.language", "choices.hint"} <= keys


def test_every_key_used_in_code_exists(code: Scan) -> None:
    missing = sorted(
        {f"{use.key} ({use.where})" for use in code.uses if use.key not in catalog("id")}
    )
    assert not missing, f"catalog keys used in code but not defined: {missing}"


def test_every_fstring_key_prefix_exists(code: Scan) -> None:
    keys = catalog("id")
    missing = sorted(p for p in code.prefixes if not any(k.startswith(p) for k in keys))
    assert not missing, f"no catalog key starts with {missing}"


def test_placeholders_are_given_where_a_key_is_used(code: Scan) -> None:
    problems = []
    for use in code.uses:
        text = catalog("id").get(use.key)
        if text is None or use.params is None:
            continue
        needed = placeholders(text)
        if needed - use.params:
            problems.append(f"{use.where}: {use.key} needs {sorted(needed - use.params)}")
        if use.params - needed:
            problems.append(f"{use.where}: {use.key} has no {sorted(use.params - needed)}")
    assert not problems, "\n".join(problems)


def test_no_unused_keys(code: Scan) -> None:
    unused = sorted(
        key
        for key in catalog("id")
        if key not in code.literals
        and not any(key.startswith(prefix) for prefix in code.prefixes)
        and key not in UNUSED_ALLOWED
    )
    assert not unused, f"catalog keys no code uses (remove them or allow-list them): {unused}"


def test_unused_allow_list_is_current() -> None:
    assert set(catalog("id")) >= UNUSED_ALLOWED


def test_gettext_falls_back_to_indonesian_and_fills_placeholders() -> None:
    assert gettext("en", "choices.hint", count=3) == "Reply with a number from 1 to 3."
    assert gettext("id", "choices.hint", count=3) == "Balas dengan angka 1 sampai 3."
    assert gettext("xx", "menu.header") == catalog("id")["menu.header"]
    assert gettext(None, "menu.header") == catalog("id")["menu.header"]


# --- the scanner itself ---


def test_scanner_reads_calls_conditionals_fstrings_and_attributes(tmp_path: Path) -> None:
    source = tmp_path / "sample.py"
    source.write_text(
        "class D:\n"
        "    menu_key = 'a.menu'\n"
        "    help_key: str | None = None\n"
        "def f(ctx, t, lang, code, extra):\n"
        "    ctx.t('a.one', name='x')\n"
        "    t('a.two' if code else 'a.three')\n"
        "    gettext(lang, 'a.four')\n"
        "    ctx.t(f'a.error.{code}')\n"
        "    ctx.t('a.five', **extra)\n",
        encoding="utf-8",
    )
    result = scan([source], root=tmp_path)
    used = {use.key: use.params for use in result.uses}
    assert used == {
        "a.menu": frozenset(),
        "a.one": frozenset({"name"}),
        "a.two": frozenset(),
        "a.three": frozenset(),
        "a.four": frozenset(),
        "a.five": None,
    }
    assert result.prefixes == {"a.error."}


def test_english_replies_name_the_english_words() -> None:
    """ "Type CANCEL", not "Type BATAL": every Indonesian command has an English one."""
    from conversations.engine import discover

    indonesian = {"BATAL", "BANTUAN"} | {d.keywords[0] for d in discover().values()}
    shared = {"DATA", "MENU", "PIN", "STATUS"}  # the same word in both languages
    for key, text in catalog("en").items():
        for word in indonesian - shared:
            assert not re.search(rf"(?<![A-Z]){re.escape(word)}(?![A-Z])", text), (key, word)
