"""Model definitions. Every HRV model takes ``rr_sequence`` float32 of shape (1, T, 1), raw milliseconds.

Normalization lives inside the model (training-set statistics stored as buffers), so a device feeds
raw milliseconds and carries no statistics of its own. What each model type means to the stages
(inputs, examples, loss, metrics, outputs) is its task spec in :mod:`edgekit.tasks`, which is also the
one registry of model types (``edgekit.tasks.TASKS``): a spec names its module and params classes
(imported when asked), and ``task_for(model_type).build_model(params)`` builds an untrained model;
this package keeps no list of its own.

Importing this package imports no torch: the modules that define torch modules are imported by name
(``edgekit.models.hr_activity``); ``edgekit.models.params`` holds their torch-free params.
"""

