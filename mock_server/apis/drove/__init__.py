"""Drove controller stand-in: the pure, server-independent core (no vendor profile yet).

Modules, in the order a request meets them: ``durations`` (Dropwizard durations), ``validation``
(Jackson binding, bean validation, the controller's semantic checks), ``cluster`` (the mock
cluster: executors, capacity, allocation), ``lifecycle`` (the task state table and the state at
time t), ``render`` (TaskInfo, the envelope, error bodies), ``logs`` (executor log files).
Facts: the PhonePe/drove server source at commit 5f3ca176 (1.33.3); decisions: specs/notes/drove.md.
"""
