# The two commands of the README: `make demo` and `make test`. Both create .venv on first use
# and reuse it after. Exact versions for this kind of machine live here, ranges in pyproject.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PINS := torch==2.14.1 torchaudio==2.11.0

.PHONY: setup demo test bench bench-models bench-bandwidth bench-dialogue bench-restore bench-learn bench-gpu eval report-screenshot clean

setup: $(STAMP)

$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet $(PINS)
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

# The demo: a difficult location take (two voices at different levels, city traffic, a hotel
# room, pops; data/examples/prepare.py), restored, then delivered to EBU R128 and ACX with reports.
DEMO := out/demo
demo: $(STAMP)
	mkdir -p $(DEMO)
	cp data/examples/location_take.flac $(DEMO)/take.flac
	$(BIN)/dxkit restore $(DEMO)/take.flac -o $(DEMO)/take_restored.wav
	$(BIN)/dxkit restore $(DEMO)/take.flac -o $(DEMO)/take_restored_full.wav --strength denoise=full,dereverb=full
	$(BIN)/dxkit restore $(DEMO)/take.flac -o $(DEMO)/take_ebu-r128.wav --spec ebu-r128 --report $(DEMO)
	$(BIN)/dxkit restore $(DEMO)/take.flac -o $(DEMO)/take_acx.mp3 --spec acx --report $(DEMO)
	$(BIN)/dxkit check $(DEMO)/take_acx.mp3 --spec acx
	@echo
	@echo "Before and after (the take; restored with the default limits; at full strength; delivered):"
	@$(BIN)/python data/examples/compare.py $(DEMO)/take.flac $(DEMO)/take_restored.wav \
		$(DEMO)/take_restored_full.wav $(DEMO)/take_ebu-r128.wav $(DEMO)/take_acx.mp3
	@echo
	@echo "Listen to them in $(DEMO)/; the QC reports are $(DEMO)/take_ebu-r128.wav.qc.html and $(DEMO)/take_acx.mp3.qc.html"

# The tests read our files back with ffmpeg (an independent decoder and meter): Debian's is
# installed where it is missing and this is root on Debian; elsewhere, a one-line error.
test: $(STAMP)
	command -v ffmpeg >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
		apt-get update -q && apt-get install -y -q ffmpeg; } || \
		{ echo "make test needs ffmpeg (Debian: apt-get install ffmpeg; macOS: brew install ffmpeg)"; exit 1; }
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

bench-dialogue: $(STAMP)
	$(BIN)/python tests/bench/dialogue_bench.py

bench-learn: $(STAMP)
	$(BIN)/python tests/bench/learn_bench.py

bench-gpu: $(STAMP)
	$(BIN)/python tests/bench/gpu_bench.py

eval: $(STAMP)
	command -v ffmpeg >/dev/null || (apt-get update -q && apt-get install -y -q ffmpeg)
	mkdir -p out/eval
	$(BIN)/dxkit eval --out out/eval --verbose

report-screenshot: $(STAMP)
	command -v chromium >/dev/null || (apt-get update -q && apt-get install -y -q chromium)
	$(BIN)/python tests/bench/report_screenshot.py $(DEMO)

clean:
	rm -rf $(VENV) out
