/* Build-time generator: turns the web page and its assets into a C source
 * with the table declared in src/server/web_assets.h.
 *
 *   orfeas_embed OUT.c PAGE.html URLPATH=FILE...
 *
 * Every "{{assets}}" in the page becomes "/assets/<tag>", where the tag is a
 * 64-bit FNV-1a hash (12 hex digits) of every asset's URL path and bytes; the
 * assets are then served as /assets/<tag>/<URLPATH>. Bytes are written as
 * string literals (compiled much faster than integer arrays). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct blob {
    unsigned char *data;
    size_t size;
} blob;

static int read_file(const char *path, blob *out)
{
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    size_t cap = 1 << 16, n = 0;
    unsigned char *buf = malloc(cap);
    while (buf) {
        if (n == cap) {
            unsigned char *grown = realloc(buf, cap *= 2);
            if (!grown) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = grown;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) break;
    }
    int bad = ferror(f) || !buf;
    fclose(f);
    if (bad) {
        free(buf);
        return -1;
    }
    out->data = buf;
    out->size = n;
    return 0;
}

static uint64_t fnv1a(uint64_t h, const void *data, size_t size)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < size; i++)
        h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

static const char *content_type(const char *path)
{
    static const char *const types[][2] = {
        {".html", "text/html; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".mjs", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".json", "application/json"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
        {".ico", "image/x-icon"},
        {".txt", "text/plain; charset=utf-8"},
        {"LICENSE", "text/plain; charset=utf-8"},
    };
    size_t n = strlen(path);
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        size_t m = strlen(types[i][0]);
        if (n >= m && strcmp(path + n - m, types[i][0]) == 0) return types[i][1];
    }
    return "application/octet-stream";
}

/* A C string literal, 64 source bytes a line. Octal escapes are always 3
 * digits (never eat a following digit); '?' is escaped (trigraphs). */
static void write_literal(FILE *out, const unsigned char *p, size_t size)
{
    fputs("(const unsigned char *)\"", out);
    size_t col = 0;
    for (size_t i = 0; i < size; i++) {
        unsigned char c = p[i];
        if (c == '\n') {
            fputs("\\n", out);
            col += 2;
        } else if (c == '"' || c == '\\' || c == '?') {
            fputc('\\', out);
            fputc(c, out);
            col += 2;
        } else if (c >= 0x20 && c < 0x7f) {
            fputc(c, out);
            col++;
        } else {
            fprintf(out, "\\%03o", c);
            col += 4;
        }
        if (col >= 64 && i + 1 < size) {
            fputs("\"\n    \"", out);
            col = 0;
        }
    }
    fputc('"', out);
}

static void write_entry(FILE *out, const char *path, const char *type, const blob *b)
{
    fprintf(out, "    {\"%s\", \"%s\",\n    ", path, type);
    write_literal(out, b->data, b->size);
    fprintf(out, ",\n    %zu},\n", b->size);
}

/* The page with every "{{assets}}" replaced by base. */
static int substitute(const blob *page, const char *base, blob *out)
{
    static const char key[] = "{{assets}}";
    size_t klen = sizeof key - 1, blen = strlen(base);
    out->data = malloc(page->size * (blen > klen ? blen : klen) / klen + 1);
    if (!out->data) return -1;
    size_t o = 0;
    for (size_t i = 0; i < page->size;) {
        if (i + klen <= page->size && memcmp(page->data + i, key, klen) == 0) {
            memcpy(out->data + o, base, blen);
            o += blen;
            i += klen;
        } else {
            out->data[o++] = page->data[i++];
        }
    }
    out->size = o;
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s OUT.c PAGE.html URLPATH=FILE...\n", argv[0]);
        return 2;
    }
    int n = argc - 3, rc = 1;
    blob page = {0}, page_out = {0};
    blob *assets = calloc((size_t)n + 1, sizeof *assets);
    const char **urls = calloc((size_t)n + 1, sizeof *urls);
    char tmp[4096];
    FILE *out = NULL;
    if (!assets || !urls) goto done;
    if (read_file(argv[2], &page)) {
        fprintf(stderr, "embed: cannot read %s\n", argv[2]);
        goto done;
    }
    uint64_t h = 14695981039346656037ull;
    for (int i = 0; i < n; i++) {
        char *eq = strchr(argv[3 + i], '=');
        if (!eq || eq == argv[3 + i] || strchr(argv[3 + i], '"')) {
            fprintf(stderr, "embed: expected URLPATH=FILE, got '%s'\n", argv[3 + i]);
            goto done;
        }
        *eq = '\0';
        urls[i] = argv[3 + i];
        if (read_file(eq + 1, &assets[i])) {
            fprintf(stderr, "embed: cannot read %s\n", eq + 1);
            goto done;
        }
        h = fnv1a(h, urls[i], strlen(urls[i]) + 1);
        h = fnv1a(h, assets[i].data, assets[i].size);
    }
    char tag[16], base[32];
    snprintf(tag, sizeof tag, "%012llx", (unsigned long long)(h & 0xffffffffffffull));
    snprintf(base, sizeof base, "/assets/%s", tag);
    if (substitute(&page, base, &page_out)) goto done;

    snprintf(tmp, sizeof tmp, "%s.tmp", argv[1]);
    out = fopen(tmp, "wb");
    if (!out) {
        fprintf(stderr, "embed: cannot write %s\n", tmp);
        goto done;
    }
    fputs("/* Generated by tools/embed.c from web/: do not edit. */\n"
          "#include \"server/web_assets.h\"\n\n"
          "const orfeas_web_asset orfeas_web_assets[] = {\n",
          out);
    write_entry(out, "index.html", content_type(".html"), &page_out);
    for (int i = 0; i < n; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", tag, urls[i]);
        write_entry(out, path, content_type(urls[i]), &assets[i]);
    }
    fprintf(out, "};\nconst size_t orfeas_web_asset_count = %d;\n", n + 1);
    if (fclose(out) != 0 || rename(tmp, argv[1]) != 0) {
        out = NULL;
        fprintf(stderr, "embed: cannot write %s\n", argv[1]);
        goto done;
    }
    out = NULL;
    rc = 0;
done:
    if (out) fclose(out);
    for (int i = 0; assets && i < n; i++)
        free(assets[i].data);
    free(assets);
    free(urls);
    free(page.data);
    free(page_out.data);
    return rc;
}
