"""The ``rmcourse`` command: ``demo | course | init | refresh | train | exercises | grade |
doctor | hf-train``.

Each sub-command parses its arguments here and calls the layers that do the work; this module
only wires them together and prints what they return.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from rmcourse.imports import skip_iri_grammar

# Reward scores (r(x, y_w), r(x, y_l)) of a few preference pairs, chosen to show every regime:
# well ranked, tied, barely wrong, badly wrong.
DEMO_PAIRS: tuple[tuple[float, float], ...] = ((2.0, -1.0), (0.5, 0.5), (0.2, 0.4), (-1.5, 1.5))


def _demo() -> int:
    import numpy as np

    from rmcourse import np_loss

    r_chosen = np.array([c for c, _ in DEMO_PAIRS])
    r_rejected = np.array([r for _, r in DEMO_PAIRS])
    per_pair = -np_loss.log_sigmoid(r_chosen - r_rejected)
    g_chosen, g_rejected = np_loss.bt_loss_grad(r_chosen, r_rejected)
    print("Pair-wise ranking loss  L = -mean log sigmoid(r(x, y_w) - r(x, y_l))\n")
    header = ("pair", "r_w", "r_l", "delta", "loss", "dL/dr_w", "dL/dr_l")
    print("  ".join(f"{h:>{w}}" for h, w in zip(header, (4, 6, 6, 6, 7, 8, 8), strict=True)))
    for i, (c, r) in enumerate(DEMO_PAIRS):
        print(
            f"{i + 1:>4}  {c:>6.2f}  {r:>6.2f}  {c - r:>6.2f}  {per_pair[i]:>7.4f}"
            f"  {g_chosen[i]:>8.4f}  {g_rejected[i]:>8.4f}"
        )
    loss = np_loss.bt_loss(r_chosen, r_rejected)
    accuracy = float(np.mean(r_chosen > r_rejected))
    print(f"\nmean loss {loss:.4f} (ln 2 = {np.log(2):.4f}: the loss of a model that cannot tell)")
    print(f"accuracy  {accuracy:.2f} (ties count as wrong)")
    print("gradients are of the mean loss: each pair's share is -sigmoid(-delta) / n_pairs")
    try:
        import torch

        from rmcourse import torch_loss
    except ImportError:  # lessons 01-02 work without torch
        return 0
    t_loss = torch_loss.bt_loss(torch.tensor(r_chosen), torch.tensor(r_rejected)).item()
    print(f"PyTorch bt_loss {t_loss:.4f} (agrees with NumPy: {abs(t_loss - loss) < 1e-12})")
    return 0


def _course(args: argparse.Namespace) -> int:
    from rmcourse.site.course import build_course

    return build_course(Path(args.notebooks), Path(args.out), timeout=args.timeout)


def _init(args: argparse.Namespace) -> int:
    """Write the lessons and exercises into a folder, then say how to open them."""
    from rmcourse.notebooks import jupyter_lab_command
    from rmcourse.takehome import FOLDERS, init_course

    dest = Path(args.dir)
    try:
        written = init_course(dest)
    except (FileExistsError, FileNotFoundError, NotADirectoryError) as exc:
        print(f"rmcourse init: {exc}", file=sys.stderr)
        return 1
    counts = [sum(p.parent.name == folder for p in written) for folder in FOLDERS]
    print(
        f"wrote {counts[0]} lessons to {dest / FOLDERS[0]} and {counts[1]} exercises to "
        f"{dest / FOLDERS[1]}"
    )
    print(f"Open them in JupyterLab: {jupyter_lab_command(dest)}")
    print("Start with notebooks/01_bradley_terry.ipynb; exercise NN practises lesson NN.")
    return 0


def _refresh(args: argparse.Namespace) -> int:
    from rmcourse.notebooks import refresh

    refresh([Path(p) for p in args.notebooks], timeout=args.timeout)
    return 0


DEFAULT_TRAIN_STEPS = 300  # when `rmcourse train` gets neither --steps nor --seconds


def _train(args: argparse.Namespace) -> int:
    """Train on a JSONL file (or the colour world) and print a summary table.

    A file is split 90/10 into training and validation pairs (seeded); without one, the colour
    world supplies 20,000 training, 2,000 validation and 5,000 test pairs. Returns 0, or 2 for
    unusable data (the reason goes to stderr).
    """
    from rmcourse.checkpoint import save
    from rmcourse.data import PreferenceWorld, Tokenizer, load_jsonl, split_pairs
    from rmcourse.model import count_parameters, new_model
    from rmcourse.train import TrainConfig, evaluate, train

    if args.data is None:
        train_ds, val_ds, test_ds = PreferenceWorld(seed=0).splits(20_000, 2_000, 5_000, seed=0)
        source = "colour world (hidden true reward)"
    else:
        try:
            pairs = load_jsonl(args.data)
            train_ds, val_ds = split_pairs(pairs, val_fraction=0.1, seed=0)
        except (OSError, ValueError) as exc:
            print(f"rmcourse train: {exc}", file=sys.stderr)
            return 2
        test_ds, source = val_ds, args.data
    tokenizer = Tokenizer.from_texts(train_ds.prompts + train_ds.chosen + train_ds.rejected)
    steps = DEFAULT_TRAIN_STEPS if args.steps is None and args.seconds is None else args.steps
    config = TrainConfig(steps=steps, seconds=args.seconds, device=args.device, reinit=True)
    result = train(new_model(tokenizer), tokenizer, train_ds, val_ds, config)
    ev = evaluate(result.model, tokenizer, test_ds)
    rows = [
        ("data", source),
        ("pairs (train / val / held-out)", f"{len(train_ds)} / {len(val_ds)} / {len(test_ds)}"),
        ("device", result.device),
        ("parameters", f"{count_parameters(result.model)}"),
        ("steps", f"{result.history['step'][-1]}"),
        ("training seconds", f"{result.train_seconds:.1f}"),
        ("pairs per second", f"{result.pairs_per_second:.0f}"),
        ("best step (val loss)", f"{result.best_step}"),
        ("held-out loss", f"{ev.loss:.4f}"),
        ("held-out accuracy", f"{ev.accuracy:.4f}"),
        ("held-out mean margin", f"{ev.margin:.4f}"),
    ]
    if ev.bayes_accuracy is not None:
        rows += [
            ("Bayes accuracy (ceiling)", f"{ev.bayes_accuracy:.4f}"),
            ("expected accuracy", f"{ev.expected_accuracy:.4f}"),
            ("expected / Bayes", f"{ev.ratio:.4f}"),
            ("Spearman(learned, true)", f"{ev.spearman:.4f}"),
        ]
    if args.out is not None:
        rows.append(("checkpoint", str(save(args.out, result.model, tokenizer))))
    _print_table(rows)
    return 0


def _print_table(rows: list[tuple[str, str]]) -> None:
    width = max(len(k) for k, _ in rows)
    print(f"{'metric':<{width}}  value")
    print(f"{'-' * width}  {'-' * 30}")
    for key, value in rows:
        print(f"{key:<{width}}  {value}")


def _exercises(args: argparse.Namespace) -> int:
    from rmcourse.grading import generate_exercises

    written = generate_exercises(Path(args.solutions), Path(args.out))
    for path in written:
        print(f"wrote {path}")
    return 0


def _grade(args: argparse.Namespace) -> int:
    from rmcourse.grading import grade_command

    return grade_command(
        Path(args.submissions),
        assignment=args.assignment,
        solutions_dir=None if args.solutions is None else Path(args.solutions),
        out=Path(args.out),
        timeout=args.timeout,
        jobs=args.jobs,
        sandbox=not args.no_sandbox,
    )


def _hf_train(args: argparse.Namespace) -> int:
    """Train the tiny Hugging Face model with TRL; also under torchrun / accelerate launch."""
    from rmcourse.hf import go_offline

    go_offline()  # before the Hugging Face libraries load: no hub access, no telemetry
    try:
        from rmcourse.hf.command import hf_train_command
    except ImportError as exc:
        print(f"rmcourse hf-train needs the [hf] extra (pip install -e '.[hf]'): {exc}",
              file=sys.stderr)  # fmt: skip
        return 2
    return hf_train_command(args.data, args.out, dpo=args.dpo, steps=args.steps,
                            batch_size=args.batch_size, seed=args.seed)  # fmt: skip


def _doctor(args: argparse.Namespace) -> int:
    from rmcourse.doctor import doctor

    return doctor()


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``rmcourse`` command."""
    parser = argparse.ArgumentParser(
        prog="rmcourse", description="The pair-wise ranking loss of RLHF reward models: a course."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    sub.add_parser("demo", help="print the loss, its gradient and the accuracy on example pairs")

    course = sub.add_parser("course", help="execute every lesson and build the course site")
    course.add_argument("--notebooks", default="notebooks", help="folder of lessons")
    course.add_argument(
        "--out",
        default="build",
        help="folder for the executed lessons (notebooks/) and the site (site/)",
    )
    course.add_argument("--timeout", type=int, default=600, help="seconds per cell")

    init = sub.add_parser(
        "init", help="write the lessons and exercises into a folder (never overwrites a file)"
    )
    init.add_argument("dir", help="the folder to write notebooks/ and exercises/ into")

    refresh = sub.add_parser(
        "refresh", help="re-execute lessons in place, without volatile metadata"
    )
    refresh.add_argument("notebooks", nargs="+", help="the .ipynb files to re-execute")
    refresh.add_argument("--timeout", type=int, default=600, help="seconds per cell")

    train = sub.add_parser("train", help="train a reward model and print a summary table")
    train.add_argument("--data", default=None, help="JSONL file of {prompt, chosen, rejected}")
    train.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    budget = train.add_mutually_exclusive_group()
    budget.add_argument("--seconds", type=float, default=None, help="training time budget")
    budget.add_argument("--steps", type=int, default=None, help="number of optimiser steps")
    train.add_argument("--out", default=None, help="folder to save the best checkpoint in")

    exercises = sub.add_parser("exercises", help="write exercises/ from solutions/")
    exercises.add_argument("--solutions", default="solutions", help="instructor notebooks")
    exercises.add_argument("--out", default="exercises", help="folder for the student notebooks")

    grade = sub.add_parser("grade", help="grade a folder of submitted notebooks")
    grade.add_argument("submissions", help="folder of .ipynb files, one per student")
    grade.add_argument("--assignment", required=True, help="notebook stem in solutions/")
    grade.add_argument(
        "--solutions",
        default=None,
        help="folder of NAME.ipynb (default: ./solutions, else the course checkout's)",
    )
    grade.add_argument("--out", default="gradebook.csv", help="gradebook CSV (JSON beside it)")
    grade.add_argument("--timeout", type=float, default=30.0, help="seconds per cell")
    grade.add_argument(
        "--jobs", type=int, default=None, help="submissions graded at once (default: the CPUs)"
    )
    grade.add_argument(
        "--no-sandbox",
        action="store_true",
        help="run student code without a box, as you (only where no box can be made)",
    )

    sub.add_parser(
        "doctor", help="print the Python, package versions, GPU, widget status and grading box"
    )

    hf = sub.add_parser(
        "hf-train", help="train a tiny transformers reward model (or DPO policy) with TRL",
        description="Runs unchanged under `torchrun --nproc_per_node N -m rmcourse hf-train ...` "
        "and `accelerate launch -m rmcourse hf-train ...` (needs the [hf] extra).",
    )  # fmt: skip
    hf.add_argument("--data", required=True, help="JSONL file of {prompt, chosen, rejected}")
    hf.add_argument("--out", required=True, help="folder for metrics.json, rank*.json, model/")
    hf.add_argument("--dpo", action="store_true", help="train a DPO policy instead")
    hf.add_argument("--steps", type=int, default=400, help="optimiser steps")
    hf.add_argument("--batch-size", type=int, default=64, help="pairs per step and process")
    hf.add_argument("--seed", type=int, default=0, help="seed of the model, split and batches")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``rmcourse`` command; returns its exit status."""
    skip_iri_grammar()  # nbformat's jsonschema without its IRI grammar: 3.4 s less
    args = build_parser().parse_args(argv)
    handlers = {
        "course": _course,
        "init": _init,
        "refresh": _refresh,
        "train": _train,
        "exercises": _exercises,
        "grade": _grade,
        "doctor": _doctor,
        "hf-train": _hf_train,
    }
    if args.command == "demo":
        return _demo()
    return handlers[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
