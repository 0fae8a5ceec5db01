"""Package stage: render the Swift package (``build/ios/<Package>/``) from verified models.

Reads ``edgekit.toml`` (``[package]`` and its ``[[package.models]]``), and for every model its
``build/<model>/{train,coreml,verify}/`` files. For each model it bundles the *smallest* Core ML
variant that passed every verification gate and fits the model's ``max_kb`` budget; when none does,
the stage fails with a one-line :class:`~edgekit.core.errors.EdgekitError` and nothing is written.

The package is rendered from the Jinja2 templates edgekit ships as package data
(``edgekit/swift_template/``, read through :mod:`importlib.resources`, so an installed wheel renders
it too) into a temporary directory beside the target and renamed into place
(:func:`edgekit.core.fileio.atomic_path`). Rendering is deterministic: the same inputs give byte-identical
output (no dates, sorted keys, copied model bytes).

Plain ``.swift`` files are copied as they are: they hold every Swift type and function, so the
package's API is the same whatever models it bundles (a role that is not bundled is the typed error
``HRVKitError.modelNotBundled``). The ``.swift.j2`` sources render data only: the model catalog
(``BundledModels.swift``), the classifier's labels (``StrainLabel.swift``) and the constants of the
data layer and the models' preprocessing (``Constants.swift``).

Every string that comes from a model or a config (labels, names, descriptions, metadata) reaches
Swift only through the escaping filters of :mod:`edgekit.package.swift_text` (:func:`swift_string`,
:func:`swift_identifier`, :func:`doc_text`), so any label yields valid Swift.

Modules, one concern each (imports go down this list): :mod:`~edgekit.package.swift_text` (Swift and
Markdown literals), :mod:`~edgekit.package.config` (``edgekit.toml``), :mod:`~edgekit.verify.selection`
(the verified variant to ship), :mod:`~edgekit.package.context` (what the templates know about each
model; each model's role is its task spec's, :mod:`edgekit.tasks.roles`) and, independent of it,
:mod:`~edgekit.package.fixtures` (the test fixtures, one module per document),
:mod:`~edgekit.package.render` (templates, rendering, the stage). The names other code uses are
re-exported here.
"""

from edgekit.package.config import (
    COMPUTE_UNITS,
    PackageConfig,
    PackageModel,
    load_package_config,
)
from edgekit.package.context import (
    PROFILE_TITLES,
    ModelContext,
    coverage_rows,
    resource_name,
)
from edgekit.package.render import (
    TEMPLATE_DIR,
    render_package,
    run_package,
    template_root,
)
from edgekit.package.swift_text import (
    SWIFT_KEYWORDS,
    SWIFT_MEMBER_NAMES,
    SWIFT_RESERVED,
    doc_text,
    md_code,
    md_text,
    percent,
    swift_double,
    swift_identifier,
    swift_string,
    unique_identifiers,
)
from edgekit.verify.selection import (
    VARIANT_ORDER,
    VariantChoice,
    read_model_spec,
    select_variant,
    tree_bytes,
)

# private helpers the tests call through this package (tests/test_package.py, tests/test_wheel.py)
from edgekit.package.context import _model_context  # noqa: F401
from edgekit.package.render import _environment, _template_files, _template_source  # noqa: F401

__all__ = [
    "COMPUTE_UNITS", "PROFILE_TITLES", "SWIFT_KEYWORDS", "SWIFT_MEMBER_NAMES", "SWIFT_RESERVED", "TEMPLATE_DIR", "VARIANT_ORDER", "ModelContext", "PackageConfig",
    "PackageModel", "VariantChoice", "coverage_rows", "doc_text", "load_package_config", "md_code", "md_text",
    "percent", "read_model_spec", "render_package", "resource_name", "run_package", "select_variant",
    "swift_double", "swift_identifier", "swift_string", "template_root", "tree_bytes",
    "unique_identifiers",
]
