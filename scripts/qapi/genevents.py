"""PREFIXqapi-events.{c,h}: qapi_event_send_FOO() for every event.

Each sender builds the event's "data" object with the output visitor and
hands it to PREFIXqapi_event_emit(), which the program provides (the
monitor for vmig; a test stub for the test schema).
"""

from .common import c_name, wrap_call
from .gen import GenFile
from .gencommands import handler_params
from .gentypes import event_enum


def sender_name(ev):
    return 'qapi_event_send_' + c_name(ev.name.lower())


def gen_send(ev, emit_fn, enum_const):
    arg = ev.arg_type
    acn = arg.c_name()
    params = handler_params(arg, ev.boxed, []) or ['void']
    out = wrap_call('void ' + sender_name(ev), params, '\n')
    out += '{\n'
    if arg.is_empty():
        out += '    %s(%s, NULL);\n}\n\n' % (emit_fn, enum_const)
        return out
    if ev.boxed:
        out += '    %s *param = arg;\n' % acn
    else:
        out += '    %s param_value = {\n' % acn
        for m in arg.members:
            if m.has_flag():
                out += '        .has_%s = has_%s,\n' % (m.c_name(),
                                                        m.c_name())
            cast = '(char *)' if m.type.name == 'str' else ''
            out += '        .%s = %s%s,\n' % (m.c_name(), cast, m.c_name())
        out += '    };\n    %s *param = &param_value;\n' % acn
    out += '''    json_t *data = NULL;
    Visitor *v = json_output_visitor_new();

    visit_type_%s(v, NULL, &param, &error_abort);
    visit_complete(v, &data);
    visit_free(v);
    %s(%s, data);
    json_decref(data);
}

''' % (acn, emit_fn, enum_const)
    return out


def gen_events(schema, outdir, prefix):
    h = GenFile(outdir, prefix + 'qapi-events.h', schema.fname,
                'QAPI event senders')
    c = GenFile(outdir, prefix + 'qapi-events.c', schema.fname,
                'QAPI event senders')
    ename, consts, _ = event_enum(schema, prefix)
    emit_fn = c_name(prefix) + 'qapi_event_emit'
    h.add('#include <jansson.h>\n\n'
          '#include "%sqapi-types.h"\n\n'
          '/*\n'
          ' * Sends @event to every listener.  Provided by the program, not\n'
          ' * generated.  @data is the event\'s "data" object (borrowed), or\n'
          ' * NULL for an event without data.\n'
          ' */\n'
          'void %s(%s event, json_t *data);\n\n' % (prefix, emit_fn, ename))
    c.add('#include "qapi/error.h"\n'
          '#include "qapi/visitor.h"\n'
          '#include "%sqapi-events.h"\n'
          '#include "%sqapi-visit.h"\n\n' % (prefix, prefix))
    for ev, (const, _, _) in zip(schema.events(), consts):
        params = handler_params(ev.arg_type, ev.boxed, []) or ['void']
        h.add(wrap_call('void ' + sender_name(ev), params, ';\n'))
        c.add(gen_send(ev, emit_fn, const))
    return [h, c]
