"""Lessons (lessons/*.md, playground/lessons.py) and the control names they use (tabs/controls.py): every lesson
parses, names real controls of its tab and view with legal values, and (slow) its view's action runs with them."""
import textwrap

import pytest

from playground import lessons
from tabs import controls as ctl

GOOD = """\
---
id: {id}
title: A lesson
tab: gan
view: main
level: intro
minutes: 5
settings: {{truncation_psi: 0.5}}
locked: [model]
hidden: []
steps:
  - text: Generate.
    settings: {{seed: 3}}
    question: What do you see?
    notice: Faces.
---
Plain explanation.

## Deeper

More.
"""


@pytest.fixture(scope="module")
def table():
    return ctl.app_controls()


def test_every_control_has_a_unique_key_and_a_legal_default(table):
    assert len(set(table)) == len(table) > 50
    for key, control in table.items():
        assert all(key) and key == control.key, key
        if control.settable:
            verdict = control.check(control.default)
            assert verdict.ok, (key, control.default, verdict.reason)
    tabs = {key[0] for key in table}
    assert tabs >= {"gan", "vae", "diffusion", "pixelcnn", "style_transfer", "super_resolution", "compare", "data",
                    "models"}
    print(f"{len(table)} controls in {len(tabs)} tabs, {sum(c.settable for c in table.values())} settable")


def test_check_converts_and_refuses(table):
    assert ctl.check(("diffusion", "generate", "sampler"), "DDIM", table).value == "DDIM"
    assert ctl.check(("gan", "main", "truncation_psi"), "0.7", table).value == 0.7
    assert ctl.check(("gan", "main", "grid_size"), "3", table).value == 3
    assert ctl.check(("super_resolution", "main", "scale"), "x2", table).value == 2
    assert ctl.check(("pixelcnn", "sample", "fast_exact_sampler"), "false", table).value is False
    assert ctl.check(("pixelcnn", "sample", "temperature"), 0.8, table).ok  # the tab's shared controls count
    assert ctl.check(("diffusion", "compare_samplers", "steps"), "5,10", table).value == [5, 10]
    for key, value in [(("gan", "main", "truncation_psi"), 0.73), (("gan", "main", "truncation_psi"), 2),
                       (("diffusion", "generate", "sampler"), "PLMS"), (("gan", "main", "seed"), float("nan")),
                       (("gan", "main", "no_such"), 1), (("vae", "reconstruct", "upload"), "x.png"),
                       (("pixelcnn", "sample", "fast_exact_sampler"), "maybe")]:
        verdict = ctl.check(key, value, table)
        assert not verdict.ok and verdict.reason, (key, value)


def test_slugs():
    assert ctl.slug("Truncation psi (1 = none)") == "truncation_psi"
    assert ctl.slug("...or upload a face (any size; made grey)") == "or_upload_a_face"
    assert ctl.slug("Latent walk: from one seed's face to another's") == "latent_walk_from_one_seeds_face_to_anothers"


def test_every_lesson_names_real_controls_with_legal_values(table):
    checked = lessons.load_all(controls=ctl.lesson_controls)
    assert len(checked) >= 10
    assert [lesson.id for lesson in checked] == [lesson.path.stem for lesson in checked]
    assert len({lesson.id for lesson in checked}) == len(checked)
    for lesson in checked:
        assert lesson.steps and lesson.explanation and lesson.deeper, lesson.id
        for step in lesson.steps:
            assert len(step.text) < 300 and step.question and step.notice, (lesson.id, step.text)
    print("\n".join(f"{lesson.id}: {lesson.title} ({lesson.tab}/{lesson.view})" for lesson in checked))


def _write(folder, name, text):
    (folder / f"{name}.md").write_text(textwrap.dedent(text))
    return folder / f"{name}.md"


@pytest.mark.parametrize("change, field", [
    (lambda t: t.replace("level: intro\n", ""), "'level'"),
    (lambda t: t.replace("minutes: 5", "minutes: five"), "'minutes'"),
    (lambda t: t.replace("level: intro", "level: easy"), "'level'"),
    (lambda t: t.replace("    notice: Faces.\n", ""), "'steps[0].notice'"),
    (lambda t: t.replace("## Deeper", "## More"), "'body'"),
    (lambda t: t.replace("hidden: []", "hidden: []\ncolour: red"), "'colour'"),
])
def test_a_malformed_lesson_names_its_file_and_field(tmp_path, change, field):
    _write(tmp_path, "broken", change(GOOD.format(id="broken")))
    with pytest.raises(lessons.LessonError) as error:
        lessons.load_all(tmp_path)
    assert "broken.md" in str(error.value) and field in str(error.value), str(error.value)


@pytest.mark.parametrize("change, field", [
    (lambda t: t.replace("{truncation_psi: 0.5}", "{psi: 0.5}"), "'settings.psi'"),
    (lambda t: t.replace("{truncation_psi: 0.5}", "{truncation_psi: 0.53}"), "'settings.truncation_psi'"),
    (lambda t: t.replace("{seed: 3}", "{seed: -1}"), "'steps[0].settings.seed'"),
    (lambda t: t.replace("locked: [model]", "locked: [modle]"), "'locked'"),
    (lambda t: t.replace("view: main", "view: nowhere"), "'view'"),
])
def test_an_unknown_control_or_illegal_value_names_its_file_and_field(tmp_path, table, change, field):
    _write(tmp_path, "wrong", change(GOOD.format(id="wrong")))
    lessons.load_all(tmp_path)  # the structure is fine: only the controls are wrong
    with pytest.raises(lessons.LessonError) as error:
        lessons.load_all(tmp_path, controls=ctl.lesson_controls)
    assert "wrong.md" in str(error.value) and field in str(error.value), str(error.value)


def test_id_must_be_the_file_name(tmp_path):
    _write(tmp_path, "one", GOOD.format(id="two"))
    with pytest.raises(lessons.LessonError, match=r"one\.md: field 'id'"):
        lessons.load_all(tmp_path)


def test_a_good_lesson_is_converted(tmp_path, table):
    _write(tmp_path, "good", GOOD.format(id="good"))
    (lesson,) = lessons.load_all(tmp_path, controls=ctl.lesson_controls)
    assert lesson.settings == {"truncation_psi": 0.5} and lesson.steps[0].settings == {"seed": 3}
    assert lesson.locked == ("model",) and lesson.explanation == "Plain explanation." and lesson.deeper == "More."


def _arguments(lesson, table, inputs, settings):
    """The action's API arguments: each input control's lesson setting, else its default (State is not on the API)."""
    import gradio as gr
    from gradio_client import handle_file
    shown = ctl.view_controls(table, lesson.tab, lesson.view)
    by_id = {c.component._id: c for c in table.values()}
    args = []
    for component in inputs:
        if isinstance(component, gr.State):
            continue
        control = by_id[component._id]
        slug = control.key[2]
        if slug in settings and shown.get(slug) is control:
            args.append(settings[slug])
        elif isinstance(control.default, dict) and control.default.get("path"):
            args.append(handle_file(control.default["path"]))
        else:
            args.append(control.default)
    return args


@pytest.mark.slow
@pytest.mark.parametrize("lesson", lessons.load_all(), ids=lambda lesson: lesson.id)
def test_every_lesson_runs_its_settings(lesson, client, table):
    """The view's default action (its public API endpoint) with the lesson's opening settings over the defaults, then
    with each step's settings added in turn, gives a result, not an error."""
    import app
    demo = ctl.built_app()[0]
    found = ctl.action(demo, lesson.tab, lesson.view, app.PUBLIC_API)
    assert found, f"{lesson.id}: no action in {lesson.tab}/{lesson.view}"
    api_name, inputs = found
    lesson = lessons.check_controls(lesson, ctl.lesson_controls)
    settings, runs = dict(lesson.settings), [dict(lesson.settings)]
    for step in lesson.steps:
        if step.settings:
            settings.update(step.settings)
            runs.append(dict(settings))
    for settings in runs:
        result = client.predict(*_arguments(lesson, table, inputs, settings), api_name=f"/{api_name}")
        assert result is not None, (lesson.id, settings)
