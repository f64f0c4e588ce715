# The two commands of the README: `make demo` and `make test`. Both create .venv on first use
# and reuse it after. Exact versions for this kind of machine live here, ranges in pyproject.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PINS := torch==2.14.1 torchaudio==2.11.0

.PHONY: setup demo test bench bench-models bench-bandwidth bench-restore bench-gpu eval report-screenshot clean

setup: $(STAMP)

$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet $(PINS)
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	mkdir -p out
	$(BIN)/dxkit restore data/examples/dialogue.flac -o out/dialogue_restored.wav --spec none
	$(BIN)/dxkit restore data/examples/dialogue.flac -o out/dialogue_ebu-r128.wav --spec ebu-r128 --report out
	$(BIN)/dxkit restore data/examples/dialogue.flac -o out/dialogue_acx.mp3 --spec acx --report out
	$(BIN)/dxkit check out/dialogue_acx.mp3 --spec acx

test: $(STAMP)
	$(BIN)/python -m pytest

bench: $(STAMP)
	command -v ffmpeg >/dev/null || (apt-get update -q && apt-get install -y -q ffmpeg)
	$(BIN)/python tests/bench/deliver_bench.py

bench-models: $(STAMP)
	$(BIN)/python tests/bench/models_bench.py

bench-bandwidth: $(STAMP)
	$(BIN)/python tests/bench/bandwidth_bench.py

bench-restore: $(STAMP)
	$(BIN)/python tests/bench/restore_bench.py --long-hours 3

bench-gpu: $(STAMP)
	$(BIN)/python tests/bench/gpu_bench.py

eval: $(STAMP)
	command -v ffmpeg >/dev/null || (apt-get update -q && apt-get install -y -q ffmpeg)
	mkdir -p out/eval
	$(BIN)/dxkit eval --out out/eval --verbose

report-screenshot: $(STAMP)
	command -v chromium >/dev/null || (apt-get update -q && apt-get install -y -q chromium)
	$(BIN)/python tests/bench/report_screenshot.py out

clean:
	rm -rf $(VENV) out
