"""Build ``models/weights/silero_vad.safetensors``: silero-vad's own weights in dxkit's format.

silero-vad (https://github.com/snakers4/silero-vad, MIT, Copyright (c) 2020-present Silero Team)
ships its network as TorchScript and ONNX. This reads the 16 kHz branch of the package's ONNX
model (``silero_vad/data/silero_vad.onnx``: protobuf data, nothing executed) and writes its
tensors under ``models/silero_vad.py``'s names, with where they came from in the metadata.
Then it checks that the torch network gives the ONNX model's probabilities on a test signal.

Needs (at build time only) ``pip install silero-vad==6.2.3 onnx onnxruntime``:

    python data/silero_vad/prepare.py
"""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import numpy_helper

from dxkit import models
from dxkit.models.silero_vad import CHUNK, SileroVAD, frame

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "models" / "weights" / "silero_vad.safetensors"
BRANCH = "If_0_then_branch__Inline_0__"  # the 16 kHz branch (the else branch is the 8 kHz model)
NAMES = {"stft.weight": "stft.forward_basis_buffer", "out.weight": "decoder.decoder.2.weight",
         "out.bias": "decoder.decoder.2.bias",
         **{f"lstm.{k}_l0": f"decoder.rnn.{k}" for k in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")},
         **{f"convs.{i}.{k}": f"encoder.{i}.reparam_conv.{k}" for i in range(4) for k in ("weight", "bias")}}


def onnx_tensors(path: Path) -> dict[str, np.ndarray]:
    """Every constant tensor of the ONNX model's 16 kHz branch, by its name in the model."""
    found = {}

    def walk(graph: onnx.GraphProto) -> None:
        for node in graph.node:
            for attribute in node.attribute:
                if node.op_type == "Constant" and attribute.name == "value" and node.output[0].startswith(BRANCH):
                    found[node.output[0][len(BRANCH):]] = numpy_helper.to_array(attribute.t)
                if attribute.type == onnx.AttributeProto.GRAPH:
                    walk(attribute.g)

    walk(onnx.load(str(path)).graph)
    return found


def main() -> None:
    import silero_vad
    from silero_vad import load_silero_vad

    version = metadata.version("silero-vad")
    source = Path(silero_vad.__file__).parent / "data" / "silero_vad.onnx"
    tensors = onnx_tensors(source)
    model = SileroVAD()
    model.load_state_dict({ours: torch.from_numpy(tensors[theirs].copy()) for ours, theirs in NAMES.items()})
    about = {"name": "silero_vad", "source": f"silero-vad {version}, silero_vad.onnx (16 kHz)",
             "licence": "MIT, Copyright (c) 2020-present Silero Team"}
    models.save(model, OUT, "silero_vad", {}, about)

    rng = np.random.default_rng(0)  # speech-like enough to move the probabilities: noise bursts
    x = (rng.standard_normal(16000 * 8) * np.repeat(rng.uniform(0, 0.3, 8 * 4), 4000)).astype(np.float32)
    reference = load_silero_vad(onnx=True)
    with torch.inference_mode():
        expected = reference.audio_forward(torch.from_numpy(x), 16000)[0].numpy()
        got, _ = models.load(OUT)(frame(torch.from_numpy(x[:len(x) // CHUNK * CHUNK])))
    error = float(np.abs(got.numpy() - expected).max())
    print(f"{OUT}: silero-vad {version}, largest difference from its ONNX model {error:.1e}")
    if error > 1e-4:
        raise SystemExit("error: the torch network does not reproduce silero-vad")


if __name__ == "__main__":
    main()
