"""Evaluation: question sets, runs, results, ratings, the judge and reports."""
