"""Single-row reads and writes for hot paths, without the ORM's per-call query compilation.

The ORM builds and compiles its SQL anew on every ``save()`` or ``filter()``; on paths that run once
per transfer or per order that cost as much client time as the database round trip itself
(docs/benchmarks/registry.md). These helpers keep one SQL string per model and still go through the
model's own fields for values (defaults, ``auto_now_add``, JSON adaptation) and ``from_db`` for rows.
"""

from functools import cache

from django.db import connection


@cache
def _columns(model) -> tuple:
    return tuple(model._meta.concrete_fields)


@cache
def _insert_sql(model, with_pk: bool = False) -> tuple[str, tuple]:
    quote = connection.ops.quote_name
    fields = tuple(f for f in _columns(model) if with_pk or not f.primary_key)
    sql = (f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) "
           f"VALUES ({', '.join(['%s'] * len(fields))}) RETURNING {quote(model._meta.pk.column)}")
    return sql, fields


@cache
def _select_sql(model) -> str:
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    return f"SELECT {', '.join(f'{table}.{quote(f.column)}' for f in _columns(model))}"


def insert_statement(obj) -> tuple[str, list]:
    """The ``INSERT ... RETURNING pk`` of a new instance and its parameters (to send with other statements).

    An instance whose pk is already set (``allocate_ids``) is inserted under that pk.
    """
    sql, fields = _insert_sql(type(obj), obj.pk is not None)
    return sql, [f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields]


def inserted(obj, pk):
    """Mark ``obj`` saved under ``pk``, as ``save()`` would."""
    obj.pk = pk
    obj._state.adding = False
    obj._state.db = connection.alias
    return obj


def allocate_ids(model, count: int) -> list[int]:
    """``count`` fresh primary keys for rows the caller will insert later in the same transaction.

    PostgreSQL: from the table's own sequence. SQLite: after the largest id, which is safe because a
    write transaction there holds the database's only write lock until it commits.
    """
    if count <= 0:
        return []
    table, pk = model._meta.db_table, model._meta.pk.column
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute("SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                        [table, pk, count])
            return [row[0] for row in cur.fetchall()]
        quote = connection.ops.quote_name
        cur.execute(f"SELECT COALESCE(MAX({quote(pk)}), 0) FROM {quote(table)}")
        start = cur.fetchone()[0] + 1
    return list(range(start, start + count))


def insert_row(obj):
    """INSERT ``obj`` (a new instance with an auto primary key) and set its pk, like ``save()`` would."""
    sql, params = insert_statement(obj)
    with connection.cursor() as cur:
        cur.execute(sql, params)
        return inserted(obj, cur.fetchone()[0])


@cache
def _update_sql(model, names: tuple) -> tuple[str, tuple]:
    quote = connection.ops.quote_name
    fields = tuple(model._meta.get_field(name) for name in names)
    sql = (f"UPDATE {quote(model._meta.db_table)} SET {', '.join(f'{quote(f.column)} = %s' for f in fields)} "
           f"WHERE {quote(model._meta.pk.column)} = %s")
    return sql, fields


def update_rows(objs, fields) -> None:
    """``save(update_fields=fields)`` for each of ``objs`` (one model), in one round trip on PostgreSQL."""
    objs = list(objs)
    if not objs:
        return
    sql, prepared = _update_sql(type(objs[0]), tuple(fields))
    rows = [[*(f.get_db_prep_save(f.pre_save(obj, False), connection) for f in prepared), obj.pk] for obj in objs]
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute("; ".join([sql] * len(rows)), [value for row in rows for value in row])
        else:
            for row in rows:
                cur.execute(sql, row)


def fetch_rows(model, where: str, params, *, prefix: str = "", join: str = "", extra: tuple = (),
               suffix: str = "") -> list:
    """Instances of ``model`` for ``SELECT <all columns> FROM <table> <join> WHERE <where> <suffix>``.

    ``prefix`` is sent in the same round trip before the SELECT (e.g. ``SET LOCAL lock_timeout``);
    ``extra`` is ``(attribute, SQL expression)`` pairs selected too (typically from the joined table) and
    set on each instance. ``params`` are those of ``join`` then ``where``.
    """
    names = [f.attname for f in _columns(model)]
    columns = "".join(f", {expression}" for _, expression in extra)
    with connection.cursor() as cur:
        table = connection.ops.quote_name(model._meta.db_table)
        cur.execute(f"{prefix}{_select_sql(model)}{columns} FROM {table} {join} WHERE {where} {suffix}", params)
        rows = []
        for row in cur.fetchall():
            obj = model.from_db(connection.alias, names, row[:len(names)])
            for (attribute, _), value in zip(extra, row[len(names):], strict=True):
                setattr(obj, attribute, value)
            rows.append(obj)
        return rows
