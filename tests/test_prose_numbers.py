"""Numbers quoted in a lesson's prose must be numbers the lesson prints (or constants it defines).

Every decimal number (``0.8131``, ``2.5``), every percentage (``1.5 %``) and every integer of 100
or more (``4,000``, except years) in a markdown cell of ``notebooks/`` must agree, to the digits it
is written with, with a number in one of that notebook's committed outputs, or be one of the few
constants the text itself defines (the weights of the preference world, the float formats' limits,
...), listed below per notebook. A percentage matches an output written as a fraction too
(``99 %`` matches ``0.9925``). A number inside a ``<details>`` reveal may also be the answer
of one of the lesson's number tasks, or a number printed by a cell tagged ``answer-reveal``, whose
outputs the committed lesson keeps only as text in the cell's metadata
(:data:`rmcourse.notebooks.REVEALED_KEY`).
"""

import math
import re
from pathlib import Path

import nbformat
import pytest

from rmcourse import tasks
from rmcourse.notebooks import REVEALED_KEY

NOTEBOOKS = sorted(Path(__file__).resolve().parents[1].glob("notebooks/[0-9][0-9]_*.ipynb"))

# Constants the prose defines or quotes from outside the notebook's outputs, per lesson; each with
# the reason it is not an output.
CONSTANTS = {
    "01": {
        0.64: "0.8 squared, worked in the answer of 01-3",
        0.04: "0.2 squared, worked in the same answer",
        0.68: "0.64 + 0.04, worked in the same answer",
        160_000: "size of the public hh-rlhf release (Bai et al., 2022), a fact about a dataset",
        100_000: "the number of simulated annotators, set in the code",
        0.2: "r_w given in task 01-1",
        1.2: "r_l given in task 01-1",
        0.3: "both rewards of the third pair given in task 01-4",
        3.2: "start of the section number §3.2.2 of Touvron et al. (2023), cited for Llama 2",
    },
    "02": {
        745: "where e^-x drops below the smallest float64 subnormal (e^-745 ≈ 5e-324)",
        709: "where exp overflows float64 (e^709.78 = 1.8e308)",
        710: "where exp overflows float64",
        708: "ln of the smallest normal float64 is −708.4: below it e^x is subnormal",
        700: "where the plot stops, set in the code",
        37: "where 1 + e^-x rounds to 1 in float64 (e^-37 ≈ 8.5e-17 < eps / 2)",
    },
    "03": {
        3.4e38: "largest float32 / bfloat16 value",
        1.4e-45: "smallest float32 subnormal",
        6.0e-8: "smallest float16 subnormal",
        9.2e-41: "smallest bfloat16 subnormal",
        65504: "largest float16 value",
        0.125: "spacing of bfloat16 numbers in [16, 32)",
        0.5: "spacing of float16 numbers in [512, 1024)",
        0.01: "the centering coefficient, set in the code",
        0.03: "the learning rate of train_reward_model, set in the code",
        1.5: "the margin given in task 03-2",
        1000.3: "r_w given in task 03-4 (the table printing it is an answer-reveal)",
        1000.1: "r_l given in task 03-4",
        8.3: "12 ln 2: from there e^-Δ < 2^-12 and float16 rounds σ(Δ) to 1",
        2048: "2^11: a float16 running sum of ones stops growing there",
    },
    "04": {
        0.25: "half of sigma(0), worked in the answer of 04-1",
        0.4404: "half of sigma(2), worked in the same answer",
        0.1192: "1 - sigma(2), worked in the answer of 04-2",
        2.5: "weight of the right colour in the world's true reward",
        0.8: "weight of a polite phrase",
        2.0: "weight of the rude opener",
        0.6: "weight of a hedge",
        0.4: "weight of a filler word",
        0.01: "std of GPT-2's position vectors at the start (openai/gpt-2, src/model.py), cited",
    },
    "05": {
        2.56: "|w| of lesson 03's plain linear model at its last step, quoted from lesson 03",
        1.46: "|w| of lesson 03's centred model (c = 0.01), quoted from lesson 03",
    },
    "06": {
        2.7726: "log 16, worked in the answer of 06-1",
        0.9375: "15/16, worked in the same answer",
        0.4: "weight of a filler word in the world's true reward",
        0.8: "the annotators' length bias b, set in the code",
        200: "the number of bins of the KL simulation, set in the code",
        300: "the training steps of every reward model, set in the code",
        20_000: "the largest training set, set in the code (printed as 20,000, which the output "
        "parser reads as two numbers)",
    },
    "07": {
        160: "the steps of every DPO and IPO run (dpo_config), set in the code",
        0.75: "the share p of labels y_1 wins, given in task 07-5",
        0.01: "the step of the grid of IPO's tau, set in the code",
    },
    "09": {
        20_000: "the training sets of the SFT policy and of the reward models, set in the code "
        "(printed as 20,000, which the output parser reads as two numbers)",
        0.8: "the annotators' length bias b, set in the code",
        6.0: "a reward given in task 09-1",
        100: "the number of held-out prompts of every evaluation, set in the code",
        59_904: "the number of answers the world can write to a prompt (rmcourse.optimum)",
        3.5: "the mean of task 09-1's four rewards, worked in its answer",
        256: "the answers each RL policy writes to the plane's prompt (N_PLANE), set in the code",
        200: "the steps of the plane's DPO and IPO runs (pref_config), set in the code",
        160: "the steps of lesson 07's DPO and IPO runs, set in that lesson's code",
    },
    "08": {
        35_352: "the number of a transformers issue, in the address of the link to it",
        35_911: "the number of a transformers pull request, named in the text and its link",
    },
}

NUMBER = re.compile(r"(?<![\w.^{])(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?(?:\s*(%))?(?![\w^])")
SCIENTIFIC = re.compile(r"(\d+\.?\d*)\s*\\(?:times|cdot)\s*10\^\{?(-?\d+)\}?")
DETAILS = re.compile(r"<details>.*?</details>", re.S)
OUTPUT_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?", re.I)
YEAR = range(1900, 2031)


def prose_numbers(source: str) -> list[tuple[str, float, int, bool]]:
    """(text, value, decimals, is_percentage) of each checked number in a markdown source."""
    found = []
    for match in SCIENTIFIC.finditer(source):  # 3.4\times10^{38}: checked to its mantissa's digits
        mantissa, exponent = match.groups()
        decimals = len(mantissa.split(".")[1]) if "." in mantissa else 0
        value = float(f"{mantissa}e{exponent}")
        found.append((match.group(0), value, decimals - int(exponent), False))
    for match in NUMBER.finditer(SCIENTIFIC.sub("", source)):
        whole, frac, pct = match.groups()
        value = float(whole.replace(",", "") + (frac or ""))
        decimals = len(frac) - 1 if frac else 0
        if not frac and not pct and (value < 100 or int(value) in YEAR):
            continue
        found.append((match.group(0), value, decimals, pct is not None))
    return found


def numbers_in(text: str) -> list[float]:
    return [float(v) for v in OUTPUT_NUMBER.findall(text) if v not in "+-."]


def output_numbers(nb) -> list[float]:
    values = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            values += numbers_in(out.get("text", "") or out.get("data", {}).get("text/plain", ""))
    return values


def revealed_numbers(nb) -> list[float]:
    """Numbers printed by the lesson's answer-reveal cells, and its number tasks' answers."""
    values = [
        v
        for cell in nb.cells
        for text in cell.metadata.get(REVEALED_KEY, [])
        for v in numbers_in(text)
    ]
    for source in (cell.source for cell in nb.cells if cell.cell_type == "code"):
        for task_id in re.findall(r"check\(\s*[\"']([\w-]+)[\"']", source):
            answer = getattr(tasks.load_tasks().get(task_id), "answer", None)
            if isinstance(answer, int | float):
                values.append(float(answer))
    return values


def agrees(value: float, decimals: int, candidate: float) -> bool:
    half_unit = 0.5 * 10.0**-decimals
    return abs(abs(candidate) - value) <= half_unit * (1 + 1e-9) + 1e-12


def unmatched(path: Path) -> list[str]:
    nb = nbformat.read(path, as_version=4)
    shown = output_numbers(nb)
    revealed = shown + revealed_numbers(nb)
    constants = list(CONSTANTS.get(path.name[:2], {}))
    missing = []
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        inside = "".join(DETAILS.findall(cell.source))
        for part, outputs in ((DETAILS.sub("", cell.source), shown), (inside, revealed)):
            missing += unmatched_in(part, outputs, constants)
    return missing


def unmatched_in(source: str, outputs: list[float], constants: list[float]) -> list[str]:
    """The numbers of ``source`` that agree with no output and no constant."""
    missing = []
    for text, value, decimals, is_percentage in prose_numbers(source):
        if is_percentage:  # a percentage of an output, printed as a fraction or a percentage
            ok = any(
                agrees(value, decimals, c) or agrees(value, decimals, 100 * c) for c in outputs
            )
        else:
            ok = any(agrees(value, decimals, c) for c in outputs + constants) or any(
                math.isclose(value, c, rel_tol=1e-9) for c in constants
            )
        if not ok:
            missing.append(text)
    return missing


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_number_in_the_prose_is_an_output_or_a_stated_constant(path):
    assert unmatched(path) == [], (
        f"{path.name}: prose numbers found in no output and no listed constant"
    )


def test_the_check_finds_a_drifted_number():
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(
            "print(x)", outputs=[nbformat.v4.new_output("stream", text="accuracy 0.8131\n")]
        )
    ]
    nb.cells.append(nbformat.v4.new_markdown_cell("about 0.81, i.e. 81 %; exactly 0.8131"))
    assert [n for n, *_ in prose_numbers(nb.cells[1].source)] == ["0.81", "81 %", "0.8131"]
    outputs = output_numbers(nb)
    assert all(
        agrees(v, d, outputs[0] * (100 if p else 1))
        for _, v, d, p in prose_numbers(nb.cells[1].source)
    )
    assert not agrees(0.8170, 4, outputs[0])
    assert prose_numbers("Bai et al. (2022) and lesson 04, K = 4 to 9") == []


def test_numbers_in_a_reveal_are_checked_against_the_revealed_text():
    nb = nbformat.v4.new_notebook()
    hidden = nbformat.v4.new_code_cell(
        "print(gap)", metadata={"tags": ["answer-reveal"], REVEALED_KEY: ["gap 0.0427"]}
    )
    nb.cells = [
        hidden,
        nbformat.v4.new_markdown_cell(
            "Open text 0.5.\n<details><summary>Answer</summary>The gap is 0.043.</details>"
        ),
    ]
    assert unmatched_in("The gap is 0.043.", revealed_numbers(nb), []) == []
    assert unmatched_in("The gap is 0.051.", revealed_numbers(nb), []) == ["0.051"]
    assert unmatched_in("The gap is 0.043.", output_numbers(nb), []) == ["0.043"]  # not shown
