"""Dataset versions and the jobs that make them: uploads and scheduled pulls go through the ingest
pipeline (``kaifang.ingest``) on the job queue, the provider confirms a desensitisation plan, and
a version is published atomically or not at all."""
