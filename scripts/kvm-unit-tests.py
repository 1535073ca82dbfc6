#!/usr/bin/env python3
"""Runs the x86 tests of a kvm-unit-tests build under Vessel (software CPU) or QEMU TCG, one after another.

kvm-unit-tests is not part of this repository: build it yourself from its public source
(git clone https://gitlab.com/kvm-unit-tests/kvm-unit-tests && ./configure && make), then

    scripts/kvm-unit-tests.py --kut /path/to/kvm-unit-tests                 # every x86_64 section, Vessel
    scripts/kvm-unit-tests.py --kut /path/to/kvm-unit-tests --runner qemu   # the same under qemu-system-x86_64 -accel tcg
    scripts/kvm-unit-tests.py --kut /path/to/kvm-unit-tests apic debug      # chosen sections
    scripts/kvm-unit-tests.py --kut /path/to/kvm-unit-tests --runner both --format markdown   # the compatibility table

Each section of x86/unittests.cfg runs the way the suite's own x86/run does it: its smp count, its test_args on the
command line, and its qemu_params (-cpu becomes Vessel's --cpu, -m its --memory; QEMU gets them unchanged, plus
pc-testdev, isa-debug-exit at 0xf4 and pci-testdev). Output: one tab-separated line per section
(name, result, FAIL lines, SKIP lines, seconds, summary), results read from the isa-debug-exit status:
1 pass, 3 fail, 77 skip, 124 timeout, anything else a crash. With --runner both, each section runs under Vessel and
then under QEMU, so the two times are taken under the same load; --format markdown prints docs/compatibility.md's rows.
The environment passes through to the VMM: VESSEL_JIT=off|on|always chooses Vessel's compiling-tier mode (docs/cpu.md).
"""

import argparse
import configparser
import os
import shlex
import subprocess
import sys
import time

REPOSITORY = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def sections(kut):
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    with open(os.path.join(kut, "x86", "unittests.cfg"), encoding="utf-8") as config:
        parser.read_file(config)
    for name in parser.sections():
        section = parser[name]
        if section.get("arch", "x86_64") != "x86_64":
            continue
        yield name, section


def option_value(params, option):
    """The value after the last occurrence of option in a QEMU parameter list, or None."""
    value = None
    for index, item in enumerate(params[:-1]):
        if item == option:
            value = params[index + 1]
    return value


def vessel_memory(size):
    """QEMU's -m takes MiB by default and k/m/g/t suffixes; Vessel's --memory wants a unit."""
    if size[-1].isdigit():
        return size + "M"
    return size[:-1] + size[-1].upper()


def command_for(runner, kut, section, vessel):
    kernel = os.path.join(kut, "x86", section["file"])
    smp = section.get("smp", "1")
    args = " ".join(shlex.split(section.get("test_args", "")))
    params = shlex.split(section.get("qemu_params", ""))
    if runner == "qemu":
        command = ["qemu-system-x86_64", "-accel", "tcg", "-nodefaults", "-display", "none", "-serial", "stdio",
                   "-device", "pc-testdev", "-device", "isa-debug-exit,iobase=0xf4,iosize=0x4",
                   "-device", "pci-testdev", "-kernel", kernel, "-smp", smp]
        command += [p for p in params if p != "-enable-kvm"]
        if args:
            command += ["-append", args]
        return command
    command = [vessel, "run", "--kernel", kernel, "--accel", "software", "--cpus", smp]
    if args:
        command += ["--cmdline", args]
    cpu = option_value(params, "-cpu")
    if cpu:
        command += ["--cpu", cpu]
    memory = option_value(params, "-m")
    if memory:
        command += ["--memory", vessel_memory(memory)]
    return command


REFUSAL_PREFIXES = {"vessel": "vessel: ", "qemu": "qemu-system-x86_64: "}


def classify(runner, status, output):
    fails = sum(1 for line in output.splitlines() if line.startswith("FAIL"))
    skips = sum(1 for line in output.splitlines() if line.startswith("SKIP"))
    summary = next((line for line in reversed(output.splitlines()) if line.startswith("SUMMARY")), "")
    # The VMM's own refusals (a bad option, say; QEMU's "-cpu host" without KVM) also exit with 1: they must not read
    # as a pass.
    prefix = REFUSAL_PREFIXES[runner]
    refused = [line for line in output.splitlines()
               if line.startswith(prefix) and not line.startswith((prefix + "warning", prefix + "building"))]
    if status == 124:
        result = "timeout"
    elif refused:
        result = "error: " + refused[0][len(prefix):]
    elif "Unhandled exception" in output:
        result = "crash"
    elif status == 1:
        result = "pass"
    elif status == 3:
        result = "fail"
    elif status == 77:
        result = "skip"
    else:
        result = f"exit {status}"
    return result, fails, skips, summary


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kut", default=os.environ.get("KUT_DIR"), help="a built kvm-unit-tests tree (or $KUT_DIR)")
    parser.add_argument("--runner", choices=["vessel", "qemu", "both"], default="vessel")
    parser.add_argument("--format", choices=["tsv", "markdown"], default="tsv")
    parser.add_argument("--timeout", type=int,
                        help="seconds per test (default: the section's own timeout, else 90, as the suite's run_tests.sh)")
    parser.add_argument("--log", help="a folder to keep each test's output in")
    parser.add_argument("tests", nargs="*", help="section names (default: all x86_64 sections)")
    options = parser.parse_args()
    if not options.kut or not os.path.isfile(os.path.join(options.kut, "x86", "unittests.cfg")):
        parser.error("--kut: give a built kvm-unit-tests tree (x86/unittests.cfg and x86/*.flat)")

    vessel = os.path.join(REPOSITORY, "vessel")
    if options.runner in ("vessel", "both"):
        # Build once up front, so the first test's time is not the build's.
        subprocess.run([vessel, "--version"], check=True, stdout=subprocess.DEVNULL)
    if options.log:
        os.makedirs(options.log, exist_ok=True)

    runners = ["vessel", "qemu"] if options.runner == "both" else [options.runner]
    if options.format == "markdown":
        columns = " | ".join(f"{runner_title(r)} | {runner_title(r)} time (s)" for r in runners)
        print(f"| Test | vCPUs and options | {columns} | Reason |")
        print("|---|---|" + "---|---|" * len(runners) + "---|")
    for name, section in sections(options.kut):
        if options.tests and name not in options.tests:
            continue
        outcomes = [run_section(runner, name, section, options, vessel) for runner in runners]
        if options.format == "markdown":
            cells = " | ".join(f"{describe(*outcome[:4])} | {outcome[4]:.1f}" for outcome in outcomes)
            print(f"| {name} | {section_arguments(section)} | {cells} |  |", flush=True)
        else:
            cells = "\t".join(f"{result}\t{fails}\t{skips}\t{seconds:.1f}\t{summary}"
                              for result, fails, skips, summary, seconds in outcomes)
            print(f"{name}\t{cells}", flush=True)


def run_section(runner, name, section, options, vessel):
    command = command_for(runner, options.kut, section, vessel)
    started = time.monotonic()
    seconds_allowed = options.timeout or int(section.get("timeout", "90").rstrip("s"))
    completed = subprocess.run(["timeout", str(seconds_allowed)] + command, stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace")
    seconds = time.monotonic() - started
    result, fails, skips, summary = classify(runner, completed.returncode, completed.stdout)
    if options.log:
        with open(os.path.join(options.log, f"{name}.{runner}.log"), "w", encoding="utf-8") as log:
            log.write(shlex.join(command) + "\n" + completed.stdout)
    return result, fails, skips, summary, seconds


def runner_title(runner):
    return {"vessel": "Vessel", "qemu": "QEMU TCG"}[runner]


def section_arguments(section):
    """The section's vCPU count and QEMU options, as a table cell."""
    parts = [f"-smp {section.get('smp', '1')}"]
    args = " ".join(shlex.split(section.get("test_args", "")))
    if args:
        parts.append(f"-append '{args}'")
    params = section.get("qemu_params", "").strip()
    if params:
        parts.append(" ".join(shlex.split(params)))
    text = " ".join(parts).replace("|", "\\|")
    # A double-backtick code span can hold the backticks some sections use for shell substitution.
    return f"`` {text} ``" if "`" in text else f"`{text}`"


def describe(result, fails, skips, summary):
    """One result cell: the outcome, with its FAIL/SKIP counts where they say more than the outcome does."""
    text = {"timeout": "timeout", "crash": "crash (unhandled guest exception)"}.get(result, result)
    details = []
    if fails and result != "pass":
        details.append(f"{fails} FAIL")
    if skips:
        details.append(f"{skips} SKIP")
    if details:
        text += " (" + ", ".join(details) + ")"
    return text.replace("|", "\\|")

if __name__ == "__main__":
    sys.exit(main())
