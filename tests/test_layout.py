"""House rules that can be checked: the delivery back end and the CLI never load torch; inference
never loads Lightning or Hydra; the networks never load the delivery back end."""

import subprocess
import sys


def test_deliver_and_cli_do_not_import_torch():
    code = ("import sys, dxkit, dxkit.cli, dxkit.deliver.delivery, dxkit.deliver.report; "
            "sys.exit('torch' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_help_explains_every_command():
    for args in ([], ["measure"], ["deliver"], ["check"], ["specs"], ["restore"], ["train"], ["eval"]):
        out = subprocess.run([sys.executable, "-m", "dxkit.cli", *args, "--help"],
                             capture_output=True, text=True)
        assert out.returncode == 0 and "usage: dxkit" in out.stdout


def test_inference_does_not_import_training_libraries():
    code = ("import sys, dxkit.infer, dxkit.models; dxkit.models.load('debug'); "
            "sys.exit(any(m in sys.modules for m in ('lightning', 'hydra', 'pytorch_lightning')))")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_models_do_not_import_the_delivery_back_end():
    # Importing any dxkit module runs the face (which loads deliver), so read the sources instead.
    import ast
    from pathlib import Path

    for source in (Path(__file__).parents[1] / "models").glob("*.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] + [getattr(node, "module", None) or ""]
                assert not any("deliver" in n or n.startswith("dxkit") for n in names), source
