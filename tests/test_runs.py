"""The run table (nst/workflow/runs.py): weights by term name, run sheets, names, as plain Python."""

import pytest

from nst.settings import TransferSettings
from nst.workflow import mask_sets, naming
from nst.workflow.config_checks import ConfigProblem
from nst.workflow.runs import build_runs, entry_loss_weights, read_run_sheet, run_label, run_options, run_loss_weights

DEFAULTS = TransferSettings().loss_weights()  # content 0.025, style 5, tv 1


def test_an_article_triple_and_a_mapping_by_name_give_the_same_weights():
    triple = entry_loss_weights([0.025, 5, 0.1], DEFAULTS, "entry 1")
    assert triple == {"content": 0.025, "style": 5.0, "tv": 0.1}
    assert entry_loss_weights({"content": 0.025, "style": 5, "tv": 0.1}, DEFAULTS, "entry 2") == triple
    assert entry_loss_weights({"cw": 0.025, "sw": 5, "tvw": 0.1}, DEFAULTS, "entry 3") == triple  # the article's names


def test_a_mapping_keeps_the_defaults_of_the_terms_it_leaves_out_and_adds_new_ones_last():
    weights = entry_loss_weights({"temporal": 200, "style": 10}, {**DEFAULTS, "mean_colour": 3.0}, "e")
    assert list(weights.items()) == [("content", 0.025), ("style", 10.0), ("tv", 1.0), ("mean_colour", 3.0),
                                     ("temporal", 200.0)]


@pytest.mark.parametrize("entry, message", [
    ([1, 2], "a list is the article's [cw, sw, tvw] triple"),
    ({"style": -1}, "entry 4, style: a weight must be a number >= 0, got -1"),
    ({"style": "much"}, "a weight must be a number >= 0, got 'much'"),
    ({"style": True}, "a weight must be a number >= 0, got True"),
    ({"my term": 1}, "'my term' is not a loss term's name"),
    ({"sw": 1, "style": 2}, "the weight of 'style' is given twice ('style' is its short name)"),
    ({}, "expected [cw, sw, tvw] or a mapping by term name"),
])
def test_a_bad_entry_is_named(entry, message):
    with pytest.raises(ConfigProblem) as raised:
        entry_loss_weights(entry, DEFAULTS, "entry 4")
    assert message in str(raised.value)


def test_names_keep_the_articles_form_and_add_further_terms_by_name():
    table = build_runs(["hugo"], ["wave"], [[0.025, 5, 1], {"tv": 0.1, "temporal": 200}], DEFAULTS)
    assert list(table.index) == ["c_hugo_s_wave_cw_0.025_sw_5_tvw_1", "c_hugo_s_wave_cw_0.025_sw_5_tvw_0.1_temporal_200"]
    assert list(table.columns) == ["content", "style", "content_weight", "style_weight", "tv_weight", "temporal_weight",
                                   "color_transfer", "mask_set", "variant", "pair", "run"]
    first, second = (table.loc[r] for r in table.index)
    assert first["temporal_weight"] == "" and second["temporal_weight"] == "200"
    assert run_loss_weights(first) == {"content": 0.025, "style": 5.0, "tv": 1.0}
    assert run_loss_weights(second.to_dict()) == {"content": 0.025, "style": 5.0, "tv": 0.1, "temporal": 200.0}
    assert naming.weights_label(run_loss_weights(second)) == "cw 0.025 · sw 5 · tvw 0.1 · temporal 200"


def test_a_run_sheet_reads_term_columns_and_the_articles_columns(tmp_path):
    sheet = tmp_path / "runs.tsv"
    sheet.write_text("# hand-picked\ncontent\tstyle\tcw\tstyle_weight\ttv_weight\ttemporal_weight\n"
                     "hugo\twave\t0.025\t5\t1\t\n"
                     "hugo\tscream\t1e-4\t10\t\t50\n")
    runs = read_run_sheet(sheet, ["hugo"], ["wave", "scream"], DEFAULTS)
    unmasked = {"color_transfer": "none", "mask_set": "none"}
    assert runs == [("hugo", "wave", {"content": 0.025, "style": 5.0, "tv": 1.0}, unmasked),
                    ("hugo", "scream", {"content": 1e-4, "style": 10.0, "tv": 1.0, "temporal": 50.0}, unmasked)]
    table = build_runs(["hugo"], ["wave", "scream"], [], DEFAULTS, str(sheet))
    assert list(table.index) == ["c_hugo_s_wave_cw_0.025_sw_5_tvw_1", "c_hugo_s_scream_cw_0.0001_sw_10_tvw_1_temporal_50"]


@pytest.mark.parametrize("text, message", [
    ("content\tstyle\tcw\nhugo\tnope\t1\n", "row 2: style 'nope' is not a key of config styles"),
    ("content\tstyle\tsharpness\nhugo\twave\t1\n", "column 'sharpness' is neither content, style, <term>_weight"),
    ("content\tcw\nhugo\t1\n", "no style column"),
    ("content\tstyle\tcw\tcontent_weight\nhugo\twave\t1\t2\n", "the weight of 'content' has two columns"),
    ("content\tstyle\tsw\nhugo\twave\t-2\n", "row 2, column sw: a weight must be a number >= 0, got '-2'"),
])
def test_a_bad_run_sheet_is_named(tmp_path, text, message):
    sheet = tmp_path / "runs.tsv"
    sheet.write_text(text)
    with pytest.raises(ConfigProblem) as raised:
        read_run_sheet(sheet, ["hugo"], ["wave"], DEFAULTS)
    assert message in str(raised.value)


def test_two_pairs_that_would_share_a_run_name_are_refused():
    with pytest.raises(ConfigProblem, match="would both be named c_a_s_b_s_c_cw_0.025_sw_5_tvw_1"):
        build_runs(["a_s_b", "a"], ["c", "b_s_c"], [[0.025, 5, 1]], DEFAULTS)


def test_settings_take_the_weights_by_term_name_and_give_them_back():
    settings = TransferSettings(terms={"mean_colour": 1.0}).with_loss_weights(
        {"content": 1.0, "style": 2.0, "tv": 3.0, "temporal": 4.0})
    assert (settings.content_weight, settings.style_weight, settings.tv_weight) == (1.0, 2.0, 3.0)
    assert settings.loss_weights() == {"content": 1.0, "style": 2.0, "tv": 3.0, "temporal": 4.0}


def test_colour_modes_are_an_axis_named_where_off_their_default():
    table = build_runs(["hugo"], ["wave"], [[0.025, 5, 1], [0.025, 50, 1]], DEFAULTS,
                       axes={"color_transfer": ["none", "histogram"]})
    assert list(table.index) == ["c_hugo_s_wave_cw_0.025_sw_5_tvw_1", "c_hugo_s_wave_cw_0.025_sw_5_tvw_1_color_histogram",
                                 "c_hugo_s_wave_cw_0.025_sw_50_tvw_1", "c_hugo_s_wave_cw_0.025_sw_50_tvw_1_color_histogram"]
    row = table.loc["c_hugo_s_wave_cw_0.025_sw_50_tvw_1_color_histogram"]
    assert run_options(row) == {"color_transfer": "histogram"} and row["variant"] == "cw_0.025_sw_50_tvw_1_color_histogram"
    assert run_label(row) == "cw 0.025 · sw 50 · tvw 1 · color histogram"
    assert run_label(table.loc["c_hugo_s_wave_cw_0.025_sw_5_tvw_1"]) == "cw 0.025 · sw 5 · tvw 1"


def test_a_run_sheets_colour_column_and_its_empty_cells(tmp_path):
    sheet = tmp_path / "runs.tsv"
    sheet.write_text("content\tstyle\tsw\tcolor_transfer\nhugo\twave\t5\tcholesky\nhugo\twave\t5\t\n")
    table = build_runs(["hugo"], ["wave"], [], DEFAULTS, str(sheet), axes={"color_transfer": ["pca"]})
    assert list(table["color_transfer"]) == ["cholesky", "pca"]  # an empty cell: the sweep's own value
    assert list(table.index) == ["c_hugo_s_wave_cw_0.025_sw_5_tvw_1_color_cholesky",
                                 "c_hugo_s_wave_cw_0.025_sw_5_tvw_1_color_pca"]


def mask_sets_in(folder):
    for name in ("face.png", "rest.png"):
        (folder / name).write_bytes(b"")  # the table checks paths exist; the engine decodes them
    return {"face": {"hugo": [str(folder / "face.png")]},
            "two": {"hugo": [str(folder / "face.png"), {"mask": str(folder / "rest.png"), "style": "wave"}]}}


def test_mask_sets_are_an_axis_for_the_contents_they_list(tmp_path):
    sets = mask_sets_in(tmp_path)
    mask_sets.check(sets, ["hugo", "cat"], ["wave"], tmp_path)
    table = build_runs(["hugo", "cat"], ["wave"], [[0.025, 5, 1]], DEFAULTS, mask_sets=sets)
    assert list(table.index) == ["c_hugo_s_wave_cw_0.025_sw_5_tvw_1", "c_hugo_s_wave_cw_0.025_sw_5_tvw_1_mask_face",
                                 "c_hugo_s_wave_cw_0.025_sw_5_tvw_1_mask_two", "c_cat_s_wave_cw_0.025_sw_5_tvw_1"]
    row = table.loc["c_hugo_s_wave_cw_0.025_sw_5_tvw_1_mask_two"]
    assert run_label(row) == "cw 0.025 · sw 5 · tvw 1 · mask two" and run_options(row) == {"color_transfer": "none"}
    regions = mask_sets.regions(sets, row["mask_set"], row["content"])
    assert regions.masks == [str(tmp_path / "face.png"), str(tmp_path / "rest.png")]
    assert regions.further_styles == ["wave"]
    assert mask_sets.regions(sets, "none", "cat").masks == []


def test_a_run_sheet_names_a_mask_set_per_row(tmp_path):
    sets = mask_sets_in(tmp_path)
    sheet = tmp_path / "runs.tsv"
    sheet.write_text("content\tstyle\tmask_set\nhugo\twave\tface\nhugo\twave\t\n")
    table = build_runs(["hugo"], ["wave"], [], DEFAULTS, str(sheet), mask_sets=sets)
    assert list(table["mask_set"]) == ["face", "none"]
    sheet.write_text("content\tstyle\tmask_set\nhugo\twave\tsky\n")
    with pytest.raises(ConfigProblem, match="row 2: mask_set 'sky' is not a key of config mask_sets"):
        build_runs(["hugo"], ["wave"], [], DEFAULTS, str(sheet), mask_sets=sets)
    sheet.write_text("content\tstyle\tmask_set\ncat\twave\tface\n")
    with pytest.raises(ConfigProblem, match="row 2: mask set 'face' has no masks for content 'cat'"):
        build_runs(["hugo", "cat"], ["wave"], [], DEFAULTS, str(sheet), mask_sets=sets)


@pytest.mark.parametrize("entry, message", [
    ({"face": {"dog": ["face.png"]}}, "mask_sets.face.dog: 'dog' is not a key of config contents"),
    ({"face": {"hugo": []}}, "mask_sets.face.hugo: expected a list of masks"),
    ({"face": {"hugo": ["nope.png"]}}, "mask_sets.face.hugo[0]: no such mask file 'nope.png'"),
    ({"face": {"hugo": ["face.png", "rest.png"]}}, "mask_sets.face.hugo[1]: expected a mask file {mask: PATH"),
    ({"face": {"hugo": ["face.png", {"mask": "rest.png", "style": "sky"}]}},
     "hugo[1]: a further region needs style: <a key of config styles>, got 'sky'"),
    ({"none": {"hugo": ["face.png"]}}, "mask_sets.none: a set's name must be"),
])
def test_a_bad_mask_set_is_one_line_naming_the_entry(tmp_path, entry, message):
    mask_sets_in(tmp_path)
    with pytest.raises(ConfigProblem, match=message.replace("[", r"\[").replace("]", r"\]").replace("{", r"\{")):
        mask_sets.check(entry, ["hugo"], ["wave"], tmp_path)
