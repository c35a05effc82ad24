"""PREFIXqapi-features.h: a QAPI_FEATURE_<NAME> mask for every custom
feature; 'deprecated' and 'unstable' are in qapi/util.h."""

from .common import c_name
from .gen import GenFile


def gen_features(schema, outdir, prefix):
    h = GenFile(outdir, prefix + 'qapi-features.h', schema.fname,
                'Masks of the custom QAPI features')
    h.add('#include "qapi/util.h"\n\n')
    bits = schema.feature_bits
    if bits:
        h.add('enum {\n')
        for name, bit in sorted(bits.items(), key=lambda kv: kv[1]):
            h.add('    QAPI_FEATURE_%s = 1u << (QAPI_FEATURE_CUSTOM_FIRST_BIT + '
                  '%d),\n'
                  % (c_name(name, False).upper(), bit))
        h.add('};\n')
    else:
        h.add('/* The schema uses no custom features. */\n')
    return [h]
