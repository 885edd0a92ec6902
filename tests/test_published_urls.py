"""One base URL for every reference to the published graphs; periods the backend gets right."""

import json
import re
from pathlib import Path

import numpy as np
import pytest

import cotmask.udp as udp
from cotmask.udf.periods import period_start
from cotmask.udp import base_url, check_arguments, published_json_url

ROOT = Path(__file__).resolve().parents[1]


def test_every_url_to_the_graphs_is_the_base_plus_a_file_that_exists() -> None:
    shipped = [*ROOT.glob("graphs/benchmark_scenarios/*.json"), *ROOT.glob("records/*.json"), ROOT / "README.md"]
    found = 0
    for path in shipped:
        text = path.read_text()
        assert "OWNER" not in text, path.name
        for url in re.findall(r"https?://[^\s\"')]+/graphs/[\w.]+\.json", text):
            assert url.startswith(base_url()), (path.name, url)
            assert (ROOT / "graphs" / url[len(base_url()) :]).is_file(), (path.name, url)
            found += 1
    assert found >= 10  # a namespace per scenario and a link per record at least


def test_base_url_is_one_setting(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(udp, "BASE_URL_FILE", tmp_path / "BASE_URL")
    assert base_url() == udp.UNPUBLISHED  # no setting: the reserved domain, never a fake owner
    udp.set_base_url("https://example.org/cotmask/graphs")
    assert published_json_url("cotmask_cloud_mask") == "https://example.org/cotmask/graphs/cotmask_cloud_mask.json"
    record = json.loads(udp.render_record(udp.get("cotmask_cloud_mask")))
    assert any(link["href"] == published_json_url("cotmask_cloud_mask") for link in record["links"])
    with pytest.raises(ValueError, match="base-url"):
        udp.set_base_url("example.org/graphs")


@pytest.mark.parametrize("start,ok", [("2024-05-01", True), ("2024-05-11", True), ("2024-05-12", False)])
def test_dekad_extent_must_start_where_the_backend_starts_dekads(start, ok) -> None:
    args = {"temporal_extent": [start, "2024-06-30"], "period": "dekad"}
    if ok:
        assert check_arguments("cotmask_forest_composite", **args)["period"] == "dekad"
    else:
        with pytest.raises(ValueError, match="start on 2024-05-01"):
            check_arguments("cotmask_forest_composite", **args)
    assert check_arguments("cotmask_forest_composite", temporal_extent=[start, "2024-06-30"], period="month")


def test_week_is_refused_naming_why() -> None:
    with pytest.raises(ValueError, match="disagree on where a week starts"):
        period_start(np.array(["2024-06-05"], dtype="datetime64[ns]"), "week")
