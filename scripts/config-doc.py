#!/usr/bin/env python3
"""Rebuilds the probe sections of docs/configuration.md from each package's
README (its "## Configuration (`x:`)" section), so that each section has one
source. Run after changing a package's configuration: python3 scripts/config-doc.py"""
import re, pathlib
root = pathlib.Path(__file__).resolve().parent.parent
sources = ["probes/ping", "probes/trace", "probes/bgp", "probes/aws", "agent/health"]
doc = root / "docs/configuration.md"
text = doc.read_text()
marker = "<!-- sections from the package READMEs: scripts/config-doc.py -->"
head = text.split(marker)[0].rstrip() + "\n\n" + marker + "\n"
parts = []
for src in sources:
    readme = root / src / "README.md"
    if not readme.exists():
        continue
    r = readme.read_text()
    m = re.search(r"^## Configuration[^\n]*\n(.*?)(?=^## |\Z)", r, re.S | re.M)
    if not m:
        continue
    title = re.search(r"^## (Configuration[^\n]*)", r, re.M).group(1)
    section = re.search(r"`(\w+):`", title).group(1)
    body = re.sub(r"^(#+) ", lambda h: "#" + h.group(1) + " ", m.group(1).strip(), flags=re.M)
    parts.append(f"\n## `{section}`\n\nFrom [{src}/README.md](../{src}/README.md), which also lists the {section} metrics.\n\n{body}\n")
doc.write_text(head + "".join(parts))
