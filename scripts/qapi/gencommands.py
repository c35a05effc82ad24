"""PREFIXqapi-commands.{c,h} (handler prototypes and marshallers) and
PREFIXqapi-init-commands.{c,h} (registration of every command)."""

from .common import c_name, c_string, decl, wrap_call
from .gen import GenFile
from .schema import feature_mask


def handler_params(arg_type, boxed, trailing):
    """Parameters of a handler (or event sender): members in schema order,
    'bool has_x, T x' for optional scalars, or one pointer when boxed."""
    if boxed:
        params = ['%s *arg' % arg_type.c_name()]
    else:
        params = []
        for m in arg_type.members:
            if m.has_flag():
                params.append('bool has_%s' % m.c_name())
            params.append(decl(m.type.c_param_type(), m.c_name()))
    return params + trailing


def handler_call_args(arg_type, boxed):
    if boxed:
        return ['arg']
    args = []
    for m in arg_type.members:
        if m.has_flag():
            args.append('arg->has_%s' % m.c_name())
        args.append('arg->%s' % m.c_name())
    return args


def ret_ctype(cmd):
    return cmd.ret_type.c_type() if cmd.ret_type else 'void'


def handler_decl(cmd):
    return wrap_call(decl(ret_ctype(cmd), 'qmp_' + c_name(cmd.name)), handler_params(cmd.arg_type, cmd.boxed,
                                          ['Error **errp']), ';\n')


def marshal_name(cmd):
    return 'qmp_marshal_' + c_name(cmd.name)


def marshal_decl(cmd, end):
    return wrap_call('void ' + marshal_name(cmd),
                     ['json_t *args', 'json_t **ret', 'Error **errp'], end)


def gen_marshal_output(t):
    cn = t.c_name()
    head = wrap_call('static void qmp_marshal_output_' + cn,
                     [decl(t.c_type(), 'ret_in'), 'json_t **ret_out',
                      'Error **errp'], '\n')
    return head + '''{
    Visitor *v;

    v = json_output_visitor_new();
    if (%(visit)s(v, NULL, &ret_in, errp)) {
        visit_complete(v, ret_out);
    }
    visit_free(v);
    v = qapi_dealloc_visitor_new();
    %(visit)s(v, NULL, &ret_in, NULL);
    visit_free(v);
}

''' % {'visit': t.visit_fn()}


def gen_marshal(cmd):
    arg = cmd.arg_type
    acn = arg.c_name()
    out = marshal_decl(cmd, '\n')
    out += '{\n'
    out += '    Error *err = NULL;\n    Visitor *v;\n'
    out += '    %s *arg = NULL;\n' % acn
    if cmd.ret_type:
        out += '    %s;\n' % decl(ret_ctype(cmd), 'retval')
    out += '''
    v = json_input_visitor_new(args);
    if (!visit_type_%s(v, NULL, &arg, errp)) {
        visit_free(v);
        return;
    }
    visit_free(v);

''' % acn
    call_args = handler_call_args(arg, cmd.boxed) + ['&err']
    head = ('retval = ' if cmd.ret_type else '') + 'qmp_' + c_name(cmd.name)
    out += wrap_call(head, call_args, ';\n', '    ')
    out += '    if (err) {\n        error_propagate(errp, err);\n    } else {\n'
    if cmd.ret_type:
        out += '        qmp_marshal_output_%s(retval, ret, errp);\n' % \
            cmd.ret_type.c_name()
    else:
        out += '        *ret = json_object();\n'
    out += '    }\n    qapi_free_%s(arg);\n}\n\n' % acn
    return out


def gen_commands(schema, outdir, prefix):
    h = GenFile(outdir, prefix + 'qapi-commands.h', schema.fname,
                'QMP command handlers (hand-written) and their marshallers')
    c = GenFile(outdir, prefix + 'qapi-commands.c', schema.fname,
                'QMP command marshallers: JSON arguments -> handler -> JSON')
    h.add('#include <jansson.h>\n\n'
          '#include "qapi/error.h"\n'
          '#include "%sqapi-types.h"\n\n' % prefix)
    c.add('#include "qapi/visitor.h"\n'
          '#include "%sqapi-commands.h"\n'
          '#include "%sqapi-visit.h"\n\n' % (prefix, prefix))
    done_outputs = set()
    for cmd in schema.commands():
        if not cmd.gen:
            h.add('/* Hand-written marshaller (\'gen\': false). */\n')
            h.add(marshal_decl(cmd, ';\n\n'))
            continue
        h.add(handler_decl(cmd))
        h.add(marshal_decl(cmd, ';\n\n'))
        if cmd.ret_type and cmd.ret_type.name not in done_outputs:
            done_outputs.add(cmd.ret_type.name)
            c.add(gen_marshal_output(cmd.ret_type))
        c.add(gen_marshal(cmd))

    ih = GenFile(outdir, prefix + 'qapi-init-commands.h', schema.fname,
                 'Registration of every QMP command')
    ic = GenFile(outdir, prefix + 'qapi-init-commands.c', schema.fname,
                 'Registration of every QMP command')
    fn = c_name(prefix) + 'qmp_init_marshal'
    ih.add('#include "qapi/qmp-dispatch.h"\n\n'
           'void %s(QmpCommandList *cmds);\n' % fn)
    ic.add('#include "qapi/util.h"\n'
           '#include "%sqapi-commands.h"\n'
           '#include "%sqapi-features.h"\n'
           '#include "%sqapi-init-commands.h"\n\n'
           'void %s(QmpCommandList *cmds)\n{\n' % (prefix, prefix, prefix, fn))
    for cmd in schema.commands():
        opts = []
        if not cmd.success_response:
            opts.append('QCO_NO_SUCCESS_RESP')
        if cmd.allow_preconfig:
            opts.append('QCO_ALLOW_PRECONFIG')
        ic.add(wrap_call('qmp_register_command',
                         ['cmds', c_string(cmd.name), marshal_name(cmd),
                          ' | '.join(opts) or 'QCO_NO_OPTIONS',
                          feature_mask(cmd.features)], ';\n', '    '))
    ic.add('}\n')
    return [h, c, ih, ic]
