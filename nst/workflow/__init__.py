"""The workflow's side of nst: names and paths of a sweep, galleries, tables, plots, fetching.

Only the Snakemake workflow (workflow/rules/*.smk and workflow/scripts/*.py) uses these;
the engine (`nst.*` above this package) never imports them. They live in the package,
not in workflow/scripts/, so that the rules (in the Snakemake process), the scripts (in
each job) and the tests all import them the same way.
"""
