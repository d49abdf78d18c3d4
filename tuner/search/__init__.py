"""Running a study's trials: the objective (one candidate, end to end), the worker loop
(exact trial budget across workers), progress lines, and the run of one process."""
