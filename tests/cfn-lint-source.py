#!/usr/bin/env python3
"""cfn-lint for source templates: `cfn-lint` with the registry schemas given by
--registry-schemas applied to resource properties.

cfn-lint 1.58.0 loads --registry-schemas (E3006 goes away, the type is known) but its property
rules look schemas up through the bundled AWS provider list only
(ProviderSchemaManager.get_resource_schemas_by_regions), which never holds a registry type, so
`Fargate::App` properties were not checked at all. This wrapper adds the registry schema to that
lookup and otherwise runs cfn-lint unchanged (same arguments, output and exit codes).
Without --registry-schemas it uses this repository's schema/ (so editors can run it as is).
Usage: python3 tests/cfn-lint-source.py [--registry-schemas schema] [cfn-lint options] -- FILE...
"""

import os
import sys

from cfnlint.runner import main
from cfnlint.schema.manager import ProviderSchemaManager

_lookup = ProviderSchemaManager.get_resource_schemas_by_regions


def _with_registry(self, resource_type, regions):
    schema = self._registry_schemas.get(resource_type)
    if schema is not None:
        yield list(regions), schema
        return
    yield from _lookup(self, resource_type, regions)


ProviderSchemaManager.get_resource_schemas_by_regions = _with_registry

if __name__ == "__main__":
    if "--registry-schemas" not in sys.argv:
        here = os.path.dirname(os.path.abspath(__file__))
        sys.argv[1:1] = ["--registry-schemas", os.path.join(here, "..", "schema")]
    sys.exit(main())
