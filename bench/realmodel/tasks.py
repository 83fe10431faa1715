"""Everyday tasks for the real-model suite (bench/realmodel/run.py).

Each task gives the model a plain-language prompt in a fresh workspace holding
`files`, and `judge(ws, text)` decides from the workspace after the run (and,
for questions, from `text`: everything the code printed plus the final answer)
whether the task got done. Whether code actually ran is decided by the runner
from the agent's own record, never from the model's prose.

`min_runs` is how many code blocks must have run for the task to count (two
for the task that needs the previous block's state, and for the task whose
first attempt fails by design).
"""

import csv
import io
import json
import math
import re
import tarfile
from pathlib import Path


def read(ws: Path, name: str) -> str:
    p = ws / name
    return p.read_text(errors="replace") if p.is_file() else ""


def lines(ws: Path, name: str) -> list:
    return [l.strip() for l in read(ws, name).splitlines() if l.strip()]


def has_number(text: str, n: int) -> bool:
    """`n` appears in `text` as a whole number (also `n.0`, or with thousands separators)."""
    pattern = r"(?<![\d.,])(%s|%s)(\.0+)?(?![\d]|[.,]\d)" % (re.escape(str(n)), re.escape(f"{n:,}"))
    return re.search(pattern, text) is not None


# No digits in the file, so a printout of it cannot pass for the count.
NOTES = "".join(f"note {w}\n" for w in "abcdefghijklmnopq")
NUMBERS = "\n".join(str(n) for n in [12, 7, 30, 41, 5, 18, 99, 3]) + "\n"
SCORES = "name,score\nana,81\nben,67\nchloe,92\ndan,74\neve,88\n"
USERS = json.dumps(
    [
        {"name": "alice", "active": True},
        {"name": "bob", "active": False},
        {"name": "carol", "active": True},
        {"name": "dave", "active": False},
        {"name": "erin", "active": True},
    ],
    indent=2,
)
ITEMS = json.dumps(
    [
        {"sku": "A1", "name": "pen", "price": 1.5},
        {"sku": "B2", "name": "book", "price": 12.0},
        {"sku": "C3", "name": "lamp", "price": 30.25},
    ]
)
TEXT = "the quick brown fox jumps over the lazy dog\nand then the fox sleeps\n"
SERVER_LOG = (
    "2026-01-01 10:00:01 INFO started\n"
    "2026-01-01 10:00:02 ERROR disk full\n"
    "2026-01-01 10:00:03 INFO retry\n"
    "2026-01-01 10:00:04 ERROR cannot write /data/x\n"
    "2026-01-01 10:00:05 WARN slow\n"
    "2026-01-01 10:00:06 ERROR giving up\n"
)
NAMES = "mike\nalice\nzoe\nbob\ncharlie\n"
EMAILS = "a@x.org\nb@x.org\na@x.org\nc@x.org\nb@x.org\nd@x.org\n"
POEM = "roses are red\nviolets are blue\nsugar is sweet and so are you my friend\nthe end\n"
DATA_CSV = "id,amount\n1,10\n2,25\n3,7\n4,40\n5,18\n"
# Reads a file that is not there: the first run fails with FileNotFoundError,
# and the fix is to read prices.txt, which exists.
COMPUTE_PY = (
    "total = 0\n"
    "with open('price.txt') as f:\n"
    "    for line in f:\n"
    "        total += float(line)\n"
    "print(total)\n"
)
PRICES = "2.5\n4\n10.25\n"


def j_hello(ws, text):
    return read(ws, "hello.txt").strip() == "Hello, world"


def j_count_lines(ws, text):
    return has_number(text, 17)


def j_sum_numbers(ws, text):
    return has_number(text, 215)


def j_people_csv(ws, text):
    try:
        rows = list(csv.DictReader(io.StringIO(read(ws, "people.csv"))))
    except csv.Error:
        return False
    got = {(r.get("name", "").strip(), r.get("age", "").strip()) for r in rows}
    return got == {("Ann", "31"), ("Bob", "25"), ("Cid", "40")}


def j_backup(ws, text):
    return read(ws, "backup/report.txt") == "quarterly numbers\n" and (ws / "report.txt").is_file()


def j_list_logs(ws, text):
    return "a.log" in text and "c.log" in text


def j_node_pow(ws, text):
    return has_number(text, 1048576)


def j_average(ws, text):
    try:
        return abs(float(read(ws, "avg.txt").strip()) - 80.4) < 0.006
    except ValueError:
        return False


def j_active(ws, text):
    return set(lines(ws, "active.txt")) == {"alice", "carol", "erin"}


def j_items_csv(ws, text):
    try:
        rows = list(csv.DictReader(io.StringIO(read(ws, "items.csv"))))
    except csv.Error:
        return False
    if len(rows) != 3:
        return False
    want = {("A1", "pen", 1.5), ("B2", "book", 12.0), ("C3", "lamp", 30.25)}
    try:
        got = {(r["sku"], r["name"], float(r["price"])) for r in rows}
    except (KeyError, ValueError, TypeError):
        return False
    return got == want


def j_word_count(ws, text):
    return has_number(text, 14)


def j_errors(ws, text):
    got = lines(ws, "errors.txt")
    return len(got) == 3 and all("ERROR" in l for l in got)


def j_upper(ws, text):
    return read(ws, "upper.txt").strip() == "SHOUT THIS LINE\nAND THIS ONE"


def j_rename(ws, text):
    return read(ws, "final.md") == "# draft\n" and not (ws / "draft.md").exists()


def j_delete_tmp(ws, text):
    return (
        not (ws / "old.tmp").exists()
        and not (ws / "cache.tmp").exists()
        and (ws / "keep.txt").is_file()
    )


def j_port(ws, text):
    return read(ws, "port.txt").strip() == "8080"


def j_node_list(ws, text):
    return lines(ws, "list.txt") == [str(i) for i in range(1, 11)]


def j_factorial(ws, text):
    return has_number(text, math.factorial(15))


def j_primes(ws, text):
    raw = read(ws, "primes.txt").replace("\n", ",").replace(" ", "")
    got = [p for p in raw.split(",") if p]
    want = [str(p) for p in range(2, 50) if all(p % d for d in range(2, p))]
    return got == want


def j_dirs(ws, text):
    return (
        (ws / "src").is_dir()
        and (ws / "tests").is_dir()
        and (ws / "docs" / "README.md").is_file()
        and read(ws, "docs/README.md") == ""
    )


def j_sorted(ws, text):
    return lines(ws, "sorted.txt") == sorted(NAMES.split())


def j_unique(ws, text):
    got = lines(ws, "unique.txt")
    return sorted(got) == ["a@x.org", "b@x.org", "c@x.org", "d@x.org"]


def j_state(ws, text):
    try:
        return float(read(ws, "total.txt").strip()) == 100.0
    except ValueError:
        return False


def j_fix(ws, text):
    try:
        return abs(float(read(ws, "out.txt").strip()) - 16.75) < 1e-9
    except ValueError:
        return False


def j_python_version(ws, text):
    return "3.11" in text or "Python 3." in text


def j_longest(ws, text):
    return read(ws, "longest.txt").strip() == "sugar is sweet and so are you my friend"


def j_tar(ws, text):
    p = ws / "docs.tar.gz"
    if not p.is_file():
        return False
    try:
        with tarfile.open(p) as t:
            names = [n.lstrip("./") for n in t.getnames()]
    except (tarfile.TarError, OSError):
        return False
    return "docs/a.md" in names and "docs/b.md" in names


def j_node_sum(ws, text):
    return has_number(text, 137)


def j_replace(ws, text):
    return read(ws, "greeting.txt") == "my dog likes the other dog\n"


def j_json_count(ws, text):
    try:
        data = json.loads(read(ws, "summary.json"))
    except ValueError:
        return False
    return data == {"active": 3, "inactive": 2}


# id, language the prompt asks for, prompt, files, judge, min_runs
TASKS = [
    ("py_hello_file", "python",
     "Create a file named hello.txt containing exactly the text: Hello, world",
     {}, j_hello, 1),
    ("sh_count_lines", "shell",
     "How many lines does notes.txt have? Use a shell command to count them.",
     {"notes.txt": NOTES}, j_count_lines, 1),
    ("py_sum_numbers", "python",
     "numbers.txt has one number per line. Use Python to add them up and print the total.",
     {"numbers.txt": NUMBERS}, j_sum_numbers, 1),
    ("py_make_csv", "python",
     "Create a CSV file people.csv with the header name,age and three rows: Ann 31, Bob 25, Cid 40.",
     {}, j_people_csv, 1),
    ("sh_backup_copy", "shell",
     "Make a directory named backup and copy report.txt into it.",
     {"report.txt": "quarterly numbers\n"}, j_backup, 1),
    ("sh_list_logs", "shell",
     "List the .log files in the current directory.",
     {"a.log": "x\n", "b.txt": "y\n", "c.log": "z\n"}, j_list_logs, 1),
    ("node_pow", "javascript",
     "Use Node.js to compute 2 to the power of 20 and print the result.",
     {}, j_node_pow, 1),
    ("py_csv_average", "python",
     "scores.csv has columns name and score. Compute the average score and write it, "
     "rounded to 2 decimals, to avg.txt.",
     {"scores.csv": SCORES}, j_average, 1),
    ("py_json_filter", "python",
     "users.json is a list of users with fields name and active. Write the names of the "
     "active users to active.txt, one per line.",
     {"users.json": USERS}, j_active, 1),
    ("py_json_to_csv", "python",
     "Convert items.json (a list of objects with sku, name and price) to items.csv with "
     "the header sku,name,price.",
     {"items.json": ITEMS}, j_items_csv, 1),
    ("sh_word_count", "shell",
     "How many words are in text.txt? Count them with a shell command.",
     {"text.txt": TEXT}, j_word_count, 1),
    ("sh_grep_errors", "shell",
     "Write every line of server.log that contains ERROR into a new file errors.txt.",
     {"server.log": SERVER_LOG}, j_errors, 1),
    ("py_uppercase", "python",
     "Create upper.txt containing the text of lower.txt converted to upper case.",
     {"lower.txt": "shout this line\nand this one\n"}, j_upper, 1),
    ("sh_rename", "shell",
     "Rename the file draft.md to final.md.",
     {"draft.md": "# draft\n"}, j_rename, 1),
    ("sh_delete_tmp", "shell",
     "Delete the .tmp files in this directory (old.tmp and cache.tmp). Keep keep.txt.",
     {"old.tmp": "1\n", "cache.tmp": "2\n", "keep.txt": "3\n"}, j_delete_tmp, 1),
    ("node_json_port", "javascript",
     "Using Node.js, read config.json and write the value of its port field to port.txt.",
     {"config.json": json.dumps({"host": "localhost", "port": 8080})}, j_port, 1),
    ("node_write_list", "javascript",
     "Using Node.js, create list.txt containing the numbers 1 to 10, one per line.",
     {}, j_node_list, 1),
    ("py_factorial", "python",
     "Compute 15 factorial with Python and print it.",
     {}, j_factorial, 1),
    ("py_primes", "python",
     "Write the prime numbers below 50 to primes.txt, in increasing order, separated by commas.",
     {}, j_primes, 1),
    ("sh_make_dirs", "shell",
     "Create the directories src, tests and docs, and an empty file README.md inside docs.",
     {}, j_dirs, 1),
    ("py_sort_lines", "python",
     "names.txt has one name per line. Write them sorted alphabetically to sorted.txt.",
     {"names.txt": NAMES}, j_sorted, 1),
    ("py_dedupe", "python",
     "emails.txt has duplicate lines. Write each distinct email once to unique.txt.",
     {"emails.txt": EMAILS}, j_unique, 1),
    ("py_two_steps_state", "python",
     "Do this in two separate Python code blocks. Step 1: load data.csv into a variable "
     "named rows (a list of dicts, with csv.DictReader) and print how many rows there are. "
     "Step 2, in a second code block that uses the rows variable from step 1: write the sum "
     "of the amount column to total.txt.",
     {"data.csv": DATA_CSV}, j_state, 2),
    ("py_fix_failing_script", "python",
     "Run compute.py with python3 and save what it prints to out.txt. If it fails, find "
     "the bug, fix compute.py, and run it again.",
     {"compute.py": COMPUTE_PY, "prices.txt": PRICES}, j_fix, 2),
    ("sh_python_version", "shell",
     "Which version of Python 3 is installed on this machine? Run a command to find out.",
     {}, j_python_version, 1),
    ("py_longest_line", "python",
     "Find the longest line of poem.txt and write it to longest.txt.",
     {"poem.txt": POEM}, j_longest, 1),
    ("sh_tar_docs", "shell",
     "Create a gzip-compressed tar archive docs.tar.gz of the docs folder.",
     {"docs/a.md": "# a\n", "docs/b.md": "# b\n"}, j_tar, 1),
    ("node_sum_json", "javascript",
     "nums.json holds an array of numbers. Use Node.js to add them up and print the total.",
     {"nums.json": json.dumps([10, 20, 7, 50, 50])}, j_node_sum, 1),
    ("py_replace_word", "python",
     "In greeting.txt, replace every occurrence of the word cat with dog, editing the file in place.",
     {"greeting.txt": "my cat likes the other cat\n"}, j_replace, 1),
    ("py_json_summary", "python",
     "Count the active and inactive users in users.json and write the counts to summary.json "
     "as {\"active\": N, \"inactive\": M}.",
     {"users.json": USERS}, j_json_count, 1),
]

# The CI smoke subset (crates/cli/tests/real_model.rs runs the same five).
SMOKE = ["py_hello_file", "sh_backup_copy", "sh_list_logs", "node_pow", "py_json_filter"]


def setup(ws: Path, files: dict) -> None:
    for name, content in files.items():
        p = ws / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(content)
