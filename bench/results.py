#!/usr/bin/env python3
"""Replaces one named section of bench/RESULTS.md (between
<!-- NAME:begin --> and <!-- NAME:end -->), reading the new body on stdin,
and prints a description of this machine for the body's header with --machine."""
import datetime, os, platform, re, subprocess, sys

def sh(c):
    return subprocess.run(c, shell=True, capture_output=True, text=True).stdout.strip()

def machine():
    cpu = sh("lscpu | sed -n 's/^Model name:[ ]*//p' | head -1")
    env = " ".join(f"{k}={v}" for k, v in sorted(os.environ.items()) if k.startswith("OPENBLAS_"))
    mem = sh("free -g | awk '/Mem:/ {print $2}'")
    swift = sh("swift --version 2>&1 | head -1")
    blas = sh("dpkg-query -W -f='${Version}' libopenblas0-pthread 2>/dev/null")
    blas_env = f" ({env})" if env else ""
    # The kernels revsd's executables run (they restart themselves where
    # OpenBLAS fell back on a CPU it does not know: Daemon/BLASKernels.swift).
    bench = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".build", "release", "revsd-bench")
    kernels = sh(f"{bench} blas 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"kernels\"])'") if os.path.exists(bench) else ""
    blas_kernels = f", {kernels} kernels" if kernels else ""
    return f"{datetime.date.today()}, {cpu}, {os.cpu_count()} cores, {mem} GiB, {platform.platform()}; {swift}; OpenBLAS {blas}{blas_env}{blas_kernels}"

if __name__ == "__main__":
    if sys.argv[1] == "--machine":
        print(machine()); sys.exit(0)
    name = sys.argv[1]
    body = sys.stdin.read().rstrip()
    section = f"<!-- {name}:begin (written by bench/{name}.sh) -->\n{body}\n<!-- {name}:end -->"
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "RESULTS.md")
    text = open(path).read() if os.path.exists(path) else "# Benchmark results\n"
    if f"<!-- {name}:begin" in text:
        text = re.sub(rf"<!-- {name}:begin.*?<!-- {name}:end -->", lambda _: section, text, flags=re.S)
    else:
        text = text.rstrip() + "\n\n" + section + "\n"
    open(path, "w").write(text)
    print(section)
