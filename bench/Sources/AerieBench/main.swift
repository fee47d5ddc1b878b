// The load generator is written in bench/ (issue 3); this placeholder keeps the package building.
print("aerie-bench: not built yet")
