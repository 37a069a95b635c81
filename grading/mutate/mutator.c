/* vlab-mutator: lists the mutants of one C file, found with libclang (the C parser clang itself
 * uses), for grading/mutate.sh. One line per mutant on stdout, tab-separated:
 *
 *   KEY  OP  LINE  COL  OFFSET  LENGTH  FROM  TO  REPLACEMENT
 *
 * OFFSET/LENGTH: the bytes of the file the mutant replaces with REPLACEMENT. OP is one of
 * rel (relational/equality operator), const (integer constant +-1), logic (&& <-> ||), bit (a
 * bitwise operator, or a ~ dropped), shift (<< <-> >>), call (a call statement deleted) or
 * return (a return deleted). KEY is FILE:FUNCTION:OP:FROM:TO:N, N counting the same change
 * within the function in source order: it names the mutant across edits elsewhere in the file
 * (grading/mutate/equivalent/ lists mutants by it).
 *
 *   vlab-mutator FILE [CLANG-ARGS...]
 *
 * Why AST and tokens together: the AST says what an operator is (binary `&` or address-of, a
 * call statement or a call in an expression); the tokens say where it is written. A node whose
 * operator token is not in the file between its operands (it came from a macro's body) is
 * skipped, so every mutant is an edit of the text the file really has. Integer literals in the
 * bodies of the file's own #defines are mutated through the tokens of the definition. */
#include <clang-c/Index.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct mutant {
    const char *op;
    char func[128];
    char from[64], to[64];
    unsigned line, col, offset, length;
    char *repl;
};

static CXTranslationUnit tu;
static char *src; /* the file's text */
static size_t srclen;
static CXFile main_file;
static const char *path, *base;
static char func[128] = "-";
static struct mutant *muts;
static size_t nmuts, capmuts;

static void add(const char *op, CXSourceLocation at, unsigned offset, unsigned length,
                const char *from, const char *to, const char *repl) {
    struct mutant m = {.op = op, .offset = offset, .length = length};
    clang_getSpellingLocation(at, NULL, &m.line, &m.col, NULL);
    snprintf(m.func, sizeof m.func, "%s", func);
    snprintf(m.from, sizeof m.from, "%s", from);
    snprintf(m.to, sizeof m.to, "%s", to);
    for (size_t i = 0; i < nmuts; i++) /* one edit reached twice (a macro's argument) */
        if (muts[i].offset == offset && muts[i].length == length && !strcmp(muts[i].repl, repl))
            return;
    if (nmuts == capmuts) {
        capmuts = capmuts ? 2 * capmuts : 256;
        muts = realloc(muts, capmuts * sizeof *muts);
        if (!muts) abort();
    }
    m.repl = strdup(repl);
    if (!m.repl) abort();
    muts[nmuts++] = m;
}

/* The file offset of a location, and whether it lies in the main file. */
static bool file_offset(CXSourceLocation loc, unsigned *off) {
    CXFile f;
    clang_getSpellingLocation(loc, &f, NULL, NULL, off);
    return f && clang_File_isEqual(f, main_file);
}

/* The tokens of the main file between two offsets (end exclusive). */
static unsigned tokens_between(unsigned from, unsigned to, CXToken **toks) {
    if (to <= from) return *toks = NULL, 0;
    CXSourceRange r = clang_getRange(clang_getLocationForOffset(tu, main_file, from),
                                     clang_getLocationForOffset(tu, main_file, to));
    unsigned n;
    clang_tokenize(tu, r, toks, &n);
    return n;
}

static unsigned tok_offset(CXToken t) {
    unsigned off;
    clang_getSpellingLocation(clang_getTokenLocation(tu, t), NULL, NULL, NULL, &off);
    return off;
}

/* Extent of a cursor as offsets in the main file; false when it is not all in it. */
static bool extent(CXCursor c, unsigned *b, unsigned *e) {
    CXSourceRange r = clang_getCursorExtent(c);
    return file_offset(clang_getRangeStart(r), b) && file_offset(clang_getRangeEnd(r), e) &&
           *b < *e;
}

struct kids {
    CXCursor c[3];
    unsigned n;
};
static enum CXChildVisitResult collect(CXCursor c, CXCursor parent, CXClientData d) {
    (void)parent;
    struct kids *k = d;
    if (k->n < 3) k->c[k->n] = c;
    k->n++;
    return CXChildVisit_Continue;
}
static struct kids children(CXCursor c) {
    struct kids k = {.n = 0};
    clang_visitChildren(c, collect, &k);
    return k;
}

/* The operator of a binary node: the one token written between its two operands. */
static bool binary_op(CXCursor c, char *op, size_t oplen, unsigned *off) {
    struct kids k = children(c);
    unsigned lb, le, rb, re;
    if (k.n != 2 || !extent(k.c[0], &lb, &le) || !extent(k.c[1], &rb, &re)) return false;
    CXToken *t;
    unsigned n = tokens_between(le, rb, &t);
    bool ok = false;
    /* the lexer runs on to the end of the token the range ends in: the RHS's first token */
    if (n == 2 && tok_offset(t[1]) == rb && clang_getTokenKind(t[0]) == CXToken_Punctuation) {
        CXString s = clang_getTokenSpelling(tu, t[0]);
        snprintf(op, oplen, "%s", clang_getCString(s));
        clang_disposeString(s);
        *off = tok_offset(t[0]);
        ok = *off >= le && *off < rb;
    }
    clang_disposeTokens(tu, t, n);
    return ok;
}

static const char *const swaps[][3] = {
    {"<", "<=", "rel"},      {"<=", "<", "rel"},      {">", ">=", "rel"},    {">=", ">", "rel"},
    {"==", "!=", "rel"},     {"!=", "==", "rel"},     {"&&", "||", "logic"}, {"||", "&&", "logic"},
    {"&", "|", "bit"},       {"|", "&", "bit"},       {"^", "&", "bit"},     {"&=", "|=", "bit"},
    {"|=", "&=", "bit"},     {"^=", "&=", "bit"},     {"<<", ">>", "shift"}, {">>", "<<", "shift"},
    {"<<=", ">>=", "shift"}, {">>=", "<<=", "shift"},
};

static void mutate_binary(CXCursor c) {
    char op[8];
    unsigned off;
    if (!binary_op(c, op, sizeof op, &off)) return;
    for (size_t i = 0; i < sizeof swaps / sizeof swaps[0]; i++)
        if (!strcmp(op, swaps[i][0]))
            add(swaps[i][2], clang_getLocationForOffset(tu, main_file, off), off,
                (unsigned)strlen(op), op, swaps[i][1], swaps[i][1]);
}

/* `~x` -> `x`: the complement of a mask forgotten. */
static void mutate_unary(CXCursor c) {
    unsigned b, e;
    if (!extent(c, &b, &e)) return;
    CXToken *t;
    unsigned n = tokens_between(b, e, &t);
    if (n >= 2) {
        CXString s = clang_getTokenSpelling(tu, t[0]);
        if (!strcmp(clang_getCString(s), "~") && tok_offset(t[0]) == b)
            add("bit", clang_getLocationForOffset(tu, main_file, b), b, 1, "~", "", " ");
        clang_disposeString(s);
    }
    clang_disposeTokens(tu, t, n);
}

/* An integer literal's text -> the same literal +-1, in its own base, suffix kept. */
static void literal_pm1(const char *text, CXSourceLocation at, unsigned off, bool unsigned_use) {
    char *end;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 0);
    if (errno || end == text) return;
    for (const char *s = end; *s; s++)
        if (!strchr("uUlL", *s)) return; /* not an integer literal we understand */
    bool hex = text[0] == '0' && (text[1] == 'x' || text[1] == 'X');
    bool oct = text[0] == '0' && !hex && text[1] >= '0' && text[1] <= '7';
    char to[64];
    for (int d = 1; d >= -1; d -= 2) {
        if (d < 0 && v == 0 && unsigned_use)
            continue; /* 0 - 1 where an unsigned is wanted: a sign-compare error, not a bug */
        else if (d < 0 && v == 0)
            snprintf(to, sizeof to, "(%s-1)", text); /* no space: keys are one word */
        else if (d > 0 && v == ULLONG_MAX)
            continue;
        else if (hex)
            snprintf(to, sizeof to, "%#llx%s", v + (unsigned long long)d, end);
        else if (oct)
            snprintf(to, sizeof to, "0%llo%s", v + (unsigned long long)d, end);
        else
            snprintf(to, sizeof to, "%llu%s", v + (unsigned long long)d, end);
        add("const", at, off, (unsigned)strlen(text), text, to, to);
    }
}

/* Whether a cursor's text is written between `[` and `]`. */
static bool in_brackets(unsigned b, unsigned e) {
    if (b == 0) return false;
    CXToken *t;
    unsigned n = tokens_between(b - 1, e + 1, &t), i = 0;
    bool open = false, close = false;
    for (; i < n; i++) {
        CXString s = clang_getTokenSpelling(tu, t[i]);
        unsigned off = tok_offset(t[i]);
        if (off < b) open = !strcmp(clang_getCString(s), "[");
        if (off >= e) close = close || !strcmp(clang_getCString(s), "]");
        clang_disposeString(s);
    }
    clang_disposeTokens(tu, t, n);
    return open && close;
}

static void mutate_literal(CXCursor c, CXCursor parent) {
    unsigned b, e;
    if (!extent(c, &b, &e)) return;
    /* An array's size in a declaration: one more is equivalent, one less an overflow that only
     * a sanitizer would see. */
    enum CXCursorKind pk = clang_getCursorKind(parent);
    if ((pk == CXCursor_FieldDecl || pk == CXCursor_VarDecl || pk == CXCursor_ParmDecl ||
         pk == CXCursor_TypedefDecl) &&
        in_brackets(b, e))
        return;
    CXToken *t;
    unsigned n = tokens_between(b, e, &t);
    /* one literal token, written here (a macro's name would be an identifier) */
    if (n == 1 && clang_getTokenKind(t[0]) == CXToken_Literal && tok_offset(t[0]) == b) {
        CXString s = clang_getTokenSpelling(tu, t[0]);
        /* the type the literal is used as: an implicit conversion's, when there is one */
        CXType ty =
            clang_getCanonicalType(clang_getCursorType(pk == CXCursor_UnexposedExpr ? parent : c));
        bool uns = ty.kind == CXType_UInt || ty.kind == CXType_ULong ||
                   ty.kind == CXType_ULongLong || ty.kind == CXType_UShort ||
                   ty.kind == CXType_UChar || ty.kind == CXType_Char_U || ty.kind == CXType_Bool;
        literal_pm1(clang_getCString(s), clang_getLocationForOffset(tu, main_file, b), b, uns);
        clang_disposeString(s);
    }
    clang_disposeTokens(tu, t, n);
}

/* Integer literals in the body of one of the file's own #defines. */
static void mutate_macro(CXCursor c) {
    unsigned b, e;
    if (!extent(c, &b, &e)) return;
    CXToken *t;
    unsigned n = tokens_between(b, e, &t), i = 1; /* t[0]: the macro's name */
    if (clang_Cursor_isMacroFunctionLike(c)) {
        while (i < n) {
            CXString s = clang_getTokenSpelling(tu, t[i++]);
            bool close = !strcmp(clang_getCString(s), ")");
            clang_disposeString(s);
            if (close) break;
        }
    }
    CXString name = clang_getCursorSpelling(c);
    snprintf(func, sizeof func, "#define-%s", clang_getCString(name));
    clang_disposeString(name);
    for (; i < n; i++) {
        if (clang_getTokenKind(t[i]) != CXToken_Literal) continue;
        CXString s = clang_getTokenSpelling(tu, t[i]);
        const char *text = clang_getCString(s);
        if (text[0] >= '0' && text[0] <= '9') {
            unsigned off = tok_offset(t[i]);
            literal_pm1(text, clang_getLocationForOffset(tu, main_file, off), off, false);
        }
        clang_disposeString(s);
    }
    snprintf(func, sizeof func, "-");
    clang_disposeTokens(tu, t, n);
}

/* The spelling of the first token of a cursor's extent. */
static bool first_token_is(CXCursor c, const char *want) {
    unsigned b, e;
    if (!extent(c, &b, &e)) return false;
    CXToken *t;
    unsigned n = tokens_between(b, e, &t);
    bool ok = false;
    if (n > 0 && tok_offset(t[0]) == b) {
        CXString s = clang_getTokenSpelling(tu, t[0]);
        ok = !want || !strcmp(clang_getCString(s), want);
        clang_disposeString(s);
    }
    clang_disposeTokens(tu, t, n);
    return ok;
}

static bool last_token_is(CXCursor c, const char *want) {
    unsigned b, e;
    if (!extent(c, &b, &e)) return false;
    CXToken *t;
    unsigned n = tokens_between(b, e, &t);
    bool ok = false;
    if (n > 0) {
        CXString s = clang_getTokenSpelling(tu, t[n - 1]);
        ok = !strcmp(clang_getCString(s), want);
        clang_disposeString(s);
    }
    clang_disposeTokens(tu, t, n);
    return ok;
}

static enum CXChildVisitResult find_call(CXCursor c, CXCursor parent, CXClientData d) {
    (void)parent;
    enum CXCursorKind k = clang_getCursorKind(c);
    if (k == CXCursor_CallExpr) {
        *(CXCursor *)d = c;
        return CXChildVisit_Break;
    }
    return k == CXCursor_UnexposedExpr || k == CXCursor_ParenExpr ? CXChildVisit_Recurse
                                                                  : CXChildVisit_Continue;
}

/* A call made for its effect alone (`f(x);`, `(void)f(x);`) -> `(void)0;`. */
static void mutate_call_stmt(CXCursor stmt) {
    CXCursor call = stmt;
    if (clang_getCursorKind(stmt) == CXCursor_CStyleCastExpr) {
        call = clang_getNullCursor();
        clang_visitChildren(stmt, find_call, &call);
        if (clang_Cursor_isNull(call)) return;
    }
    unsigned b, e;
    if (!extent(stmt, &b, &e) || !last_token_is(stmt, ")")) return;
    CXString s = clang_getCursorSpelling(call);
    const char *callee = clang_getCString(s);
    char from[64];
    snprintf(from, sizeof from, "%s()", *callee ? callee : "(*fn)");
    add("call", clang_getCursorLocation(stmt), b, e - b, from, "-", "(void)0");
    clang_disposeString(s);
}

/* `return E;` -> `(void)(E);` (the function goes on), `return;` -> `(void)0;`. A function's
 * closing return is left alone: without it a value-returning function does not compile and a
 * void one is unchanged. */
static void mutate_return(CXCursor ret, bool last_of_body) {
    unsigned b, e;
    if (last_of_body || !extent(ret, &b, &e) || !first_token_is(ret, "return")) return;
    struct kids k = children(ret);
    if (k.n == 0) {
        add("return", clang_getCursorLocation(ret), b, e - b, "return", "-", "(void)0");
        return;
    }
    unsigned xb, xe;
    if (!extent(k.c[0], &xb, &xe) || xb < b || xe > e || xe > srclen) return;
    size_t len = xe - xb + 16;
    char *repl = malloc(len);
    if (!repl) abort();
    snprintf(repl, len, "(void)(%.*s)", (int)(xe - xb), src + xb);
    add("return", clang_getCursorLocation(ret), b, e - b, "return", "-", repl);
    free(repl);
}

struct stmt_ctx {
    bool body; /* the statements iterated are the function's body */
    unsigned body_kids, seen;
    bool branches; /* ... are an if's condition (first) and branches */
};

static enum CXChildVisitResult visit(CXCursor c, CXCursor parent, CXClientData d);

/* The direct children of a statement list (or an if): statements, where a call made for its
 * effect can be deleted and a return dropped. */
static enum CXChildVisitResult visit_stmt_list(CXCursor c, CXCursor parent, CXClientData d) {
    struct stmt_ctx *sc = d;
    enum CXCursorKind k = clang_getCursorKind(c);
    bool last = sc->body && ++sc->seen == sc->body_kids;
    bool stmt = !sc->branches || sc->seen++ > 0;
    if (stmt && (k == CXCursor_CallExpr || k == CXCursor_CStyleCastExpr)) mutate_call_stmt(c);
    if (k == CXCursor_ReturnStmt) mutate_return(c, last);
    struct stmt_ctx none = {0};
    if (visit(c, parent, &none) == CXChildVisit_Recurse) clang_visitChildren(c, visit, &none);
    return CXChildVisit_Continue;
}

static enum CXChildVisitResult visit(CXCursor c, CXCursor parent, CXClientData d) {
    enum CXCursorKind k = clang_getCursorKind(c);
    /* Declarations of the headers are skipped; inside a function the tokens decide (a node
     * from a macro's body has its location there, yet its argument's text is this file's). */
    if (clang_getCursorKind(parent) == CXCursor_TranslationUnit &&
        !clang_Location_isFromMainFile(clang_getCursorLocation(c)))
        return CXChildVisit_Continue;
    if (clang_getCursorKind(parent) == CXCursor_TranslationUnit && k != CXCursor_FunctionDecl &&
        k != CXCursor_MacroDefinition) {
        /* a table, a struct, an enum: its mutants are named after it */
        CXString s = clang_getCursorSpelling(c);
        snprintf(func, sizeof func, "%s", *clang_getCString(s) ? clang_getCString(s) : "-");
        clang_disposeString(s);
        clang_visitChildren(c, visit, d);
        snprintf(func, sizeof func, "-");
        return CXChildVisit_Continue;
    }
    switch (k) {
    case CXCursor_FunctionDecl: {
        if (!clang_isCursorDefinition(c)) return CXChildVisit_Continue;
        CXString s = clang_getCursorSpelling(c);
        snprintf(func, sizeof func, "%s", clang_getCString(s));
        clang_disposeString(s);
        clang_visitChildren(c, visit, d);
        snprintf(func, sizeof func, "-");
        return CXChildVisit_Continue;
    }
    case CXCursor_MacroDefinition: mutate_macro(c); return CXChildVisit_Continue;
    case CXCursor_StaticAssert:
        return CXChildVisit_Continue; /* checked by the compiler, never run */
    case CXCursor_CompoundStmt:
    case CXCursor_CaseStmt:
    case CXCursor_DefaultStmt:
    case CXCursor_LabelStmt:
    case CXCursor_IfStmt: {
        struct stmt_ctx inner = {.branches = k == CXCursor_IfStmt};
        if (k == CXCursor_CompoundStmt && clang_getCursorKind(parent) == CXCursor_FunctionDecl) {
            inner.body = true;
            inner.body_kids = children(c).n;
        }
        clang_visitChildren(c, visit_stmt_list, &inner);
        return CXChildVisit_Continue;
    }
    case CXCursor_BinaryOperator:
    case CXCursor_CompoundAssignOperator: mutate_binary(c); break;
    case CXCursor_UnaryOperator: mutate_unary(c); break;
    case CXCursor_IntegerLiteral: mutate_literal(c, parent); break;
    default: break;
    }
    return CXChildVisit_Recurse;
}

/* REPLACEMENT on one line, as bash's `printf %b` reads it back: \\, \n and \t. */
static void print_escaped(const char *s) {
    for (; *s; s++) {
        if (*s == '\\')
            fputs("\\\\", stdout);
        else if (*s == '\n')
            fputs("\\n", stdout);
        else if (*s == '\t')
            fputs("\\t", stdout);
        else
            putchar(*s);
    }
    putchar('\n');
}

static int by_offset(const void *a, const void *b) {
    const struct mutant *x = a, *y = b;
    if (x->offset != y->offset) return x->offset < y->offset ? -1 : 1;
    return strcmp(x->repl, y->repl);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: vlab-mutator FILE [CLANG-ARGS...]\n");
        return 2;
    }
    path = argv[1];
    base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return 1;
    }
    size_t cap = 1 << 16;
    src = malloc(cap);
    for (size_t got; src && (got = fread(src + srclen, 1, cap - srclen, f)) > 0;)
        if ((srclen += got) == cap) src = realloc(src, cap *= 2);
    fclose(f);
    if (!src) abort();
    CXIndex idx = clang_createIndex(0, 0);
    enum CXErrorCode err = clang_parseTranslationUnit2(
        idx, path, (const char *const *)argv + 2, argc - 2, NULL, 0,
        CXTranslationUnit_DetailedPreprocessingRecord | CXTranslationUnit_KeepGoing, &tu);
    if (err != CXError_Success) {
        fprintf(stderr, "vlab-mutator: %s: libclang could not parse it (error %d)\n", path, err);
        return 1;
    }
    int errors = 0;
    for (unsigned i = 0; i < clang_getNumDiagnostics(tu); i++) {
        CXDiagnostic dg = clang_getDiagnostic(tu, i);
        if (clang_getDiagnosticSeverity(dg) >= CXDiagnostic_Error) {
            CXString s = clang_formatDiagnostic(dg, clang_defaultDiagnosticDisplayOptions());
            fprintf(stderr, "vlab-mutator: %s\n", clang_getCString(s));
            clang_disposeString(s);
            errors++;
        }
        clang_disposeDiagnostic(dg);
    }
    if (errors) return 1; /* a wrong include path would hide half the AST */
    main_file = clang_getFile(tu, path);
    struct stmt_ctx top = {0};
    clang_visitChildren(clang_getTranslationUnitCursor(tu), visit, &top);

    qsort(muts, nmuts, sizeof *muts, by_offset);
    for (size_t i = 0; i < nmuts; i++) {
        struct mutant *m = &muts[i];
        unsigned n = 0; /* earlier mutants with the same change in the same function */
        for (size_t j = 0; j < i; j++)
            n += !strcmp(muts[j].func, m->func) && muts[j].op == m->op &&
                 !strcmp(muts[j].from, m->from) && !strcmp(muts[j].to, m->to);
        printf("%s:%s:%s:%s:%s:%u\t%s\t%u\t%u\t%u\t%u\t%s\t%s\t", base, m->func, m->op, m->from,
               *m->to ? m->to : "''", n + 1, m->op, m->line, m->col, m->offset, m->length, m->from,
               *m->to ? m->to : "''");
        print_escaped(m->repl);
    }
    clang_disposeTranslationUnit(tu);
    clang_disposeIndex(idx);
    return 0;
}
