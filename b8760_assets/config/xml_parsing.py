"""Reading configuration XML safely, then checking its structure against the shipped XSD.

Configuration files come from participants and operators, so the parser never resolves
entities, never loads a DTD (the java.util.Properties DOCTYPE is accepted, not fetched) and
never opens the network: no XXE, no billion laughs. A file that declares an entity is
refused for it, before libxml2 could word it as a parse error or a limit it ran into.
"""

from collections.abc import Iterable
from importlib.resources import files
from pathlib import Path
from xml.parsers import expat

from lxml import etree

from b8760_assets.config.problems import ConfigProblem

SCHEMAS = files("b8760_assets.config") / "schemas"
# How every untrusted XML file is parsed, the configuration's and uploads' (a Green Button
# feed): no entity expanded, no DTD loaded, nothing fetched, libxml2's size and depth limits on.
SAFE_PARSING = {
    "resolve_entities": False,
    "no_network": True,
    "load_dtd": False,
    "dtd_validation": False,
    "huge_tree": False,
}


def _safe_parser() -> etree.XMLParser:
    return etree.XMLParser(**SAFE_PARSING, remove_comments=False)


class _Declared(Exception):
    """Stops expat at the first entity declaration, or at the root element."""


def declared_entity(chunks: Iterable[bytes]) -> tuple[str, int] | None:
    """The first entity a document's DOCTYPE declares, and its line, from the document's
    bytes a chunk at a time. Expat stops there or at the root element, so nothing is ever
    expanded, it never reads an external DTD, and only the chunks before the root are read."""
    scanner = expat.ParserCreate()
    scanner.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    found = []

    def declared(name: str, is_parameter: bool, *_: object) -> None:
        found.append(("%" * is_parameter + name, scanner.CurrentLineNumber))
        raise _Declared

    def root_element(*_: object) -> None:
        raise _Declared

    scanner.EntityDeclHandler = declared
    scanner.StartElementHandler = root_element
    try:
        for chunk in chunks:
            scanner.Parse(chunk, False)
        scanner.Parse(b"", True)
    except (_Declared, expat.ExpatError):  # a file expat cannot read, libxml2 words
        pass
    return found[0] if found else None


def entity_refused(name: str) -> str:
    return (
        f"the DOCTYPE declares entity {name}; entities are refused (they could pull in other "
        "files or expand without end): remove the declarations and write each value itself"
    )


def _problem(path: Path, entry: etree._LogEntry) -> ConfigProblem:
    """A libxml2 message (syntax or XSD) as a problem at its line."""
    return ConfigProblem(path, entry.line or None, None, entry.message)


def read_valid_xml(
    path: Path, schema_name: str
) -> tuple[etree._Element | None, list[ConfigProblem]]:
    """The root of a well-formed file that matches schemas/<schema_name>, or what stops it.

    Entity references are left unexpanded by the parser and reported here, so that a value
    is never silently empty or replaced by another file's content.
    """
    try:
        data = path.read_bytes()
    except OSError as error:
        return None, [ConfigProblem(path, None, None, f"cannot read the file: {error.strerror}")]
    entity = declared_entity([data])
    if entity is not None:
        name, line = entity
        return None, [ConfigProblem(path, line, None, entity_refused(name))]
    parser = _safe_parser()
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as error:
        logged = [_problem(path, entry) for entry in parser.error_log.filter_from_errors()]
        return None, logged or [ConfigProblem(path, error.lineno, None, error.msg)]
    entities = [
        ConfigProblem(
            path,
            entity.sourceline,
            None,
            f"entity reference {entity.text} is not expanded; write the value itself",
        )
        for entity in root.iter(etree.Entity)
    ]
    if entities:
        return None, entities
    schema = etree.XMLSchema(etree.fromstring((SCHEMAS / schema_name).read_bytes(), _safe_parser()))
    if not schema.validate(root):
        return None, [_problem(path, entry) for entry in schema.error_log]
    return root, []
