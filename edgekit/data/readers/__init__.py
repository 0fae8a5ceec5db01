"""Readers: recordings and workouts from files into RR tables and :class:`~edgekit.data.workouts.Workout` records."""
