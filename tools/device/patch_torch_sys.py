#!/usr/bin/env python3
"""Makes tch 0.26's C wrapper compile against an older libtorch (the GPU machine's 2.11).

torch-sys 0.26 is generated from torch 2.13's operator list; 2.11 lacks 15 of those operators
(`_philox_*`, `_upsample_lanczos2d_aa*`, `_flash_attention_forward_no_dropout_inplace`) and one
changed its arguments. This compiles `libtch/torch_api_generated.cpp` of the copy in DIR
(syntax only) against LIBTORCH's headers and replaces the body of every C function that fails
with one that raises "… is not in this libtorch" through tch's usual error path; every other
function is compiled unchanged against the older headers, so their types are checked. The apps
call none of the stubbed operators.

usage: patch_torch_sys.py DIR LIBTORCH
"""
import re
import subprocess
import sys

RETURNS = {"void": "", "int": "  return 0;\n", "int64_t": "  return 0;\n",
           "double": "  return 0;\n", "tensor": "  return nullptr;\n"}


def failing_lines(src, torch):
    cmd = ["g++", "-std=c++17", "-fsyntax-only", "-D_GLIBCXX_USE_CXX11_ABI=1",
           f"-I{torch}/include", f"-I{torch}/include/torch/csrc/api/include", f"-I{src.rsplit('/', 1)[0]}", src]
    out = subprocess.run(cmd, capture_output=True, text=True)
    pat = re.compile(re.escape(src.split("/")[-1]) + r":(\d+):\d+: error")
    return sorted({int(m.group(1)) for m in pat.finditer(out.stderr)}), out.returncode


def stub(lines, line_no):
    """Replaces the function around 1-based line `line_no`; returns its name."""
    i = line_no - 1
    while not re.match(r"^[a-z]\w*\s+\w+\(.*\)\s*\{$", lines[i]):
        i -= 1
    j = line_no - 1
    while lines[j].rstrip("\n") != "}":
        j += 1
    ret, name = lines[i].split()[0], re.match(r"^\w+\s+(\w+)\(", lines[i]).group(1)
    body = (f'  PROTECT(throw std::invalid_argument("{name}: not in the libtorch this was '
            f'built against (device build)");)\n{RETURNS[ret]}')
    lines[i + 1:j] = [body]
    return name


def main():
    folder, torch = sys.argv[1], sys.argv[2]
    src = f"{folder}/libtch/torch_api_generated.cpp"
    stubbed = []
    for _ in range(4):
        bad, rc = failing_lines(src, torch)
        if rc == 0:
            print(f"torch_api_generated.cpp compiles; {len(stubbed)} operators stubbed: "
                  + ", ".join(stubbed))
            return
        if not bad:
            sys.exit("torch_api_generated.cpp fails to compile outside its functions: "
                     "this libtorch is too far from tch's")
        lines = open(src).read().splitlines(keepends=True)
        for n in sorted(bad, reverse=True):
            stubbed.append(stub(lines, n))
        open(src, "w").write("".join(lines))
    sys.exit("torch_api_generated.cpp still fails after 4 passes")


if __name__ == "__main__":
    main()
