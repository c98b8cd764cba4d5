"""The national-scale replay of a compliance cycle (issue 10).

``fleet`` builds a market (entities and units, from GEM's real fleet or a synthetic one with the
same distributions) and its raw activity data; ``stages`` drives that market through the apps' real
services and tasks, stage by stage, timing each; ``figures`` computes the headline figures from what
the system stored and recomputes them independently from the raw data with pandas. The management
command ``replay_cycle`` ties them together.
"""
