"""The norms file: the defaults shipped (callback 2 workdays; question and report 5 workdays;
complaint 6 weeks with a receipt term; application 8 weeks), overrides inheriting the rest of
their type, and errors naming file/table/key."""

from pathlib import Path

import pytest

from domain.clock.norms import NormsError, load, parse

SHIPPED = Path(__file__).parents[3] / "deploy" / "config" / "service-norms.toml"


def test_the_shipped_catalogue_has_the_domain_defaults() -> None:
    catalogue = load(SHIPPED)
    assert catalogue.lookup("callback").term.text == "2 workdays"
    assert catalogue.lookup("question").term.text == "5 workdays"
    assert catalogue.lookup("report").term.text == "5 workdays"
    assert catalogue.lookup("complaint").term.text == "P6W"
    assert catalogue.lookup("complaint").acknowledge_within is not None
    assert catalogue.lookup("application").term.text == "P8W"


def test_subject_overrides_inherit_the_rest_of_their_type() -> None:
    catalogue = load(SHIPPED)
    tile = catalogue.lookup("report", subject="Losliggende Stoeptegel", channel="web")
    assert tile.term.text == "3 workdays"
    assert tile.interim_every == catalogue.lookup("report").interim_every
    assert catalogue.lookup("report", subject="grofvuil").term.text == "5 workdays"


def base() -> dict:  # type: ignore[type-arg]
    return {
        "norms": {
            t: {"term": "5 workdays"}
            for t in ("question", "callback", "complaint", "application", "report")
        }
    }


def test_channel_override() -> None:
    raw = base()
    raw["norms"]["question"]["channel"] = {"email": {"term": "16 workhours"}}
    catalogue = parse(raw)
    assert catalogue.lookup("question", channel="email").term.unit == "workhours"
    assert catalogue.lookup("question", channel="web").term.text == "5 workdays"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda r: r["norms"]["callback"].update(term="2 days"),
            "norms.toml: [norms.callback] term: ",
        ),
        (
            lambda r: r["norms"]["callback"].update(warn_at=1.5),
            "[norms.callback] warn_at: must be a fraction between 0 and 1 (got 1.5)",
        ),
        (
            lambda r: r["norms"]["callback"].update(escalate="1 workday"),
            "[norms.callback] escalate: unknown key",
        ),
        (lambda r: r["norms"].pop("complaint"), "no norm for request type 'complaint'"),
        (
            lambda r: r["norms"].update(wish={"term": "1 workday"}),
            "[norms.wish] is not a request type",
        ),
        (
            lambda r: r["norms"]["report"].update(subject={"gat": {"term": "soon"}}),
            '[norms.report.subject."gat"] term:',
        ),
        (
            lambda r: r.update(calendar={"workday_start": "half negen"}),
            "[calendar] workday_start: expected HH:MM",
        ),
        (lambda r: r.update(calendar={"liberation_day": "never"}), "[calendar] liberation_day:"),
        (lambda r: r["norms"]["callback"].pop("term"), "[norms.callback] term: required"),
    ],
)
def test_invalid_catalogues_name_file_table_and_key(change, message: str) -> None:  # type: ignore[no-untyped-def]
    raw = base()
    change(raw)
    with pytest.raises(NormsError) as exc:
        parse(raw, "norms.toml")
    assert message in str(exc.value)
    assert str(exc.value).startswith("norms.toml: ")


def test_missing_and_broken_files(tmp_path: Path) -> None:
    with pytest.raises(NormsError, match="not found"):
        load(tmp_path / "nope.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("[norms.callback\nterm = ")
    with pytest.raises(NormsError, match="not valid TOML"):
        load(broken)
