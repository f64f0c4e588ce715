"""Loading by name, weight files that rebuild their model, clear errors."""

import pytest
import torch
from safetensors import safe_open

from dxkit import models
from dxkit.models.bandnet import BandNet


def test_debug_model_is_tiny_and_deterministic():
    a, b = models.load("debug"), models.load("debug")
    assert sum(p.numel() for p in a.parameters()) < 20000
    x = torch.randn(1, 4800)
    with torch.no_grad():
        assert torch.equal(a(x), b(x))


def test_a_weights_file_rebuilds_its_model(tmp_path):
    args = {"bands": 16, "df_bins": 12, "df_order": 2, "hidden": 24, "layers": 1}
    torch.manual_seed(3)
    net = BandNet(**args).eval()
    path = tmp_path / "net.safetensors"
    models.save(net, path, "bandnet", args, {"name": "test"})
    with safe_open(str(path), framework="pt") as f:
        assert f.metadata()["family"] == "bandnet"
    loaded = models.load(path)
    assert loaded.args == args and loaded.about == {"name": "test"}
    x = torch.randn(1, 9600)
    with torch.no_grad():
        assert torch.equal(loaded(x), net(x))
    assert not list(tmp_path.glob(".*tmp*"))


@pytest.mark.parametrize("content", [b"", b"not a safetensors file at all", b"\x08" + b"\x00" * 7 + b"{}"])
def test_bad_weight_files_raise_a_clear_error(tmp_path, content):
    path = tmp_path / "bad.safetensors"
    path.write_bytes(content)
    with pytest.raises(models.WeightsError, match="bad.safetensors"):
        models.load(path)


def test_unknown_names_and_missing_files_raise(tmp_path):
    with pytest.raises(models.WeightsError, match="unknown network"):
        models.load("vacuum")
    with pytest.raises(models.WeightsError, match="no such"):
        models.load(tmp_path / "gone.safetensors")


def test_weights_that_do_not_fit_their_arguments_raise(tmp_path):
    net = BandNet(hidden=16, layers=1)
    path = tmp_path / "w.safetensors"
    models.save(net, path, "bandnet", {"hidden": 32, "layers": 1})
    with pytest.raises(models.WeightsError, match="do not fit"):
        models.load(path)


@pytest.mark.parametrize("name", models.SHIPPED)
def test_shipped_networks_load_by_name(name):
    net = models.load(name)
    assert sum(p.numel() for p in net.parameters()) <= 2.5e6
    assert net.about["name"] == name and "config" in net.about
    x = torch.zeros(1, 4800)
    with torch.no_grad():
        assert torch.isfinite(net(x)).all()


@pytest.mark.parametrize("args", [["not", "a", "mapping"], {"no_such_argument": 1}, {"sample_rate": 44100}])
def test_weights_with_bad_arguments_raise_a_clear_error(tmp_path, args):
    path = tmp_path / "w.safetensors"
    models.save(BandNet(hidden=8, layers=1), path, "bandnet", args)
    with pytest.raises(models.WeightsError, match="do not fit"):
        models.load(path)


def test_the_shipped_detector_finds_the_example_lines(capsys):
    """The bundled example: eight lines read over room tone, the first after about a second."""
    import json
    from pathlib import Path

    from dxkit.cli import main

    net = models.load("activity")
    assert net.family == "activity" and sum(p.numel() for p in net.parameters()) < 100_000
    example = Path(__file__).resolve().parents[2] / "data" / "examples" / "dialogue.flac"
    assert main(["measure", str(example), "--json", "--dialogue"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert 0.65 < data["dialogue_fraction"] < 0.85
    assert data["dialogue_lufs"] > data["integrated_lufs"]  # the pauses (room tone) are left out
    assert main(["detect", str(example), "--json"]) == 0
    stretches = json.loads(capsys.readouterr().out)["segments"]
    assert 0.8 < stretches[0]["start_s"] < 1.3 and 27.5 < stretches[-1]["end_s"] < 29.0
