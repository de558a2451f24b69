"""nearopt: learning near the optimum of two-layer teacher-student networks."""
