"""House rules that can be checked: the delivery back end and the CLI never load torch."""

import subprocess
import sys


def test_deliver_and_cli_do_not_import_torch():
    code = ("import sys, dxkit, dxkit.cli, dxkit.deliver.delivery, dxkit.deliver.report; "
            "sys.exit('torch' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_help_explains_every_command():
    for args in ([], ["measure"], ["deliver"], ["check"], ["specs"]):
        out = subprocess.run([sys.executable, "-m", "dxkit.cli", *args, "--help"],
                             capture_output=True, text=True)
        assert out.returncode == 0 and "usage: dxkit" in out.stdout
