"""The labrats jobs dialect: jobs (a view over tasks), agents with event triggers and chains,
instructions, API keys, webhook sources, config, stats, uploads. See docs/jobs.md."""
