"""Generic CRUD inferred from the spec, for every operation without a vendor handler.

A path ending in ``/{param}`` is an item of the collection at the path before it. POST on such a
collection creates (the object is generated, the request's fields merged in, an id assigned that
is never reused), GET lists what is stored, GET/PUT/PATCH/DELETE on the item read, update and
delete it (a deleted item stays gone). Anything else is an action answered with a deterministic
fake of its documented success response.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mock_server import paging
from mock_server.errors import Rejection
from mock_server.inputs import media_type
from mock_server.vendor import Context, Reply

if TYPE_CHECKING:
    from mock_server.fakes import Fakes
    from mock_server.spec import Operation, SpecIndex
    from mock_server.store import Store

ID_NAMES = ("id", "uuid", "key", "name")


@dataclass
class Shape:
    kind: str                  # create | list | read | update | delete | action
    collection: str            # the collection's path template
    id_param: str | None = None


def _tombstones(collection: str) -> str:
    return f"{collection}#deleted"


class Resources:
    def __init__(self, spec: SpecIndex, fakes: Fakes, store: Store) -> None:
        self.spec, self.fakes, self.store = spec, fakes, store
        items = {path.rsplit("/", 1)[0]: path for path in spec.by_path if path.endswith("}")}
        self.shapes: dict[str, Shape] = {}
        self.item_schema: dict[str, Any] = {}
        self.id_field: dict[str, tuple[str | None, dict]] = {}
        for path, ops in spec.by_path.items():
            for method, op in ops.items():
                self.shapes[op.id] = self._shape(path, method, op, items)
        for collection, item_path in items.items():
            self.item_schema[collection] = self._schema_for(collection, item_path)
            param = item_path.rsplit("{", 1)[1].rstrip("}")
            self.id_field[collection] = self._id_field(self.item_schema[collection], param)

    @staticmethod
    def _shape(path: str, method: str, op: Operation, items: dict[str, str]) -> Shape:
        if path.endswith("}"):
            collection, last = path.rsplit("/", 1)
            kinds = {"get": "read", "put": "update", "patch": "update", "delete": "delete"}
            return Shape(kinds.get(method, "action"), collection, last[1:-1])
        collection = path.rstrip("/")
        if collection in items:
            return Shape({"post": "create", "get": "list"}.get(method, "action"), collection)
        return Shape("action", collection)

    def _schema_for(self, collection: str, item_path: str) -> Any:
        """The item schema: the item read's success body, else the create's, else the list's."""
        candidates = [(item_path, "get", False), (collection, "post", False), (collection, "get", True)]
        for path, method, is_list in candidates:
            op = self.spec.by_path.get(path, {}).get(method)
            schema = op.json_schema(op.success_status()) if op else None
            if schema is None:
                continue
            schema = self.spec.resolver.resolve(schema)
            if schema.get("type") == "array" or "items" in schema:
                return schema.get("items", {})
            if not is_list:
                return schema
        return {"type": "object"}

    def _id_field(self, schema: Any, param: str) -> tuple[str | None, dict]:
        resolver = self.spec.resolver
        props = resolver.merged_all_of(schema).get("properties") or {}
        for name in (param, *ID_NAMES):
            if name in props:
                return name, resolver.resolve(props[name])
        lowered = {p.lower(): p for p in props}
        if param.lower() in lowered:
            name = lowered[param.lower()]
            return name, resolver.resolve(props[name])
        # A property the parameter's name ends with: instanceSid -> sid, petKey -> key.
        for name in sorted(props, key=len, reverse=True):
            if len(name) > 1 and param.lower().endswith(name.lower()):
                return name, resolver.resolve(props[name])
        return None, {}

    # -- dispatch -----------------------------------------------------------------------------
    def handle(self, call: Context) -> Reply:
        shape = self.shapes[call.op.id]
        return getattr(self, f"_{shape.kind}")(call, shape)

    def _collection_key(self, call: Context, shape: Shape) -> str:
        """The concrete collection path (parent parameters filled in) where items are stored."""
        path = shape.collection
        for name, value in call.path_params.items():
            if name != shape.id_param:
                path = path.replace("{" + name + "}", str(value))
        return path

    def _typed_id(self, collection: str, raw: Any) -> Any:
        _, schema = self.id_field.get(collection, (None, {}))
        if schema.get("type") == "integer":
            try:
                return int(raw)
            except (TypeError, ValueError):
                return raw
        return str(raw)

    def _new_id(self, collection: str, key: str) -> Any:
        field, schema = self.id_field.get(collection, (None, {}))
        store = self.store
        if schema.get("type") == "integer" or not field:
            sequence = f"id:{collection}"
            value = store.next_id(sequence)
            if value == 1:  # the sequence's first value: ids may be in use already (a snapshot without sequences)
                floor = max((int(k) for k, _ in store.items(key) if k.isdigit()), default=0)
                value = store.next_id(sequence, floor=floor) if floor else value
            return value
        for _ in range(100):
            n = store.next_id(f"id:{collection}")
            candidate = str(n) if not (schema.get("pattern") or schema.get("format") or schema.get("enum")) \
                else self.fakes.generate(schema, "new-id", collection, n, name=field)
            if store.get(key, str(candidate)) is None and store.get(_tombstones(key), str(candidate)) is None:
                return candidate
        raise Rejection("conflict", "could not allocate a fresh id")

    def _generated(self, collection: str, item_id: Any) -> dict:
        obj = self.fakes.generate(self.item_schema.get(collection, {}), "item", collection, item_id)
        obj = obj if isinstance(obj, dict) else {}
        field, _ = self.id_field.get(collection, (None, {}))
        if field:
            obj[field] = item_id
        return obj

    def _existing(self, call: Context, shape: Shape) -> tuple[str, str, dict]:
        """(collection key, id, object) of the addressed item, or the documented not-found."""
        key = self._collection_key(call, shape)
        raw_id = call.path_params[shape.id_param]
        item_id = str(raw_id)
        found = self.store.get(key, item_id)
        if found is not None:
            return key, item_id, found
        if self.store.get(_tombstones(key), item_id) is not None or call.op.documented(404) \
                or call.op.documented(410):
            raise Rejection("not_found", f"{shape.collection}/{item_id} not found")
        # The spec documents no not-found: the item exists virtually, the same on every call.
        return key, item_id, self._generated(shape.collection, self._typed_id(shape.collection, raw_id))

    # -- operations ---------------------------------------------------------------------------
    def _create(self, call: Context, shape: Shape) -> Reply:
        key = self._collection_key(call, shape)
        item_id = self._new_id(shape.collection, key)
        obj = self._generated(shape.collection, item_id)
        if isinstance(call.body, dict):
            obj.update(self._writable(call.body, shape.collection))
        field, _ = self.id_field.get(shape.collection, (None, {}))
        if field:
            obj[field] = item_id
        obj = self.fakes.conform(obj, self.item_schema[shape.collection], "item", shape.collection, item_id)
        self.store.put(key, str(item_id), obj)
        status = call.op.success_status((201, 200, 202, 204))
        headers = {}
        if "location" in {h.lower() for h in (call.op.response(status) or {}).get("headers") or {}}:
            headers["Location"] = f"{key}/{item_id}"
        return self._reply(call, shape, status, obj, headers)

    def _writable(self, body: dict, collection: str) -> dict:
        schema = self.spec.resolver.merged_all_of(self.item_schema.get(collection, {}))
        props = schema.get("properties") or {}
        resolve = self.spec.resolver.resolve
        return {k: v for k, v in body.items() if k in props and not resolve(props[k]).get("readOnly")}

    def _list(self, call: Context, shape: Shape) -> Reply:
        key = self._collection_key(call, shape)
        items = [obj for _, obj in self.store.items(key)]
        return self._reply(call, shape, call.op.success_status(), items)

    def _read(self, call: Context, shape: Shape) -> Reply:
        _, _, obj = self._existing(call, shape)
        return self._reply(call, shape, call.op.success_status(), obj)

    def _update(self, call: Context, shape: Shape) -> Reply:
        key, item_id, obj = self._existing(call, shape)
        if isinstance(call.body, dict):
            obj.update(self._writable(call.body, shape.collection))
        obj = self.fakes.conform(obj, self.item_schema[shape.collection], "item", shape.collection, item_id)
        self.store.put(key, item_id, obj)
        return self._reply(call, shape, call.op.success_status(), obj)

    def _delete(self, call: Context, shape: Shape) -> Reply:
        key, item_id, obj = self._existing(call, shape)
        self.store.delete(key, item_id)
        self.store.put(_tombstones(key), item_id, {})
        return self._reply(call, shape, call.op.success_status((204, 200, 202)), obj)

    def _action(self, call: Context, shape: Shape) -> Reply:
        op = call.op
        status = op.success_status()
        schema = op.json_schema(status)
        params = sorted((k, str(v)) for k, v in call.path_params.items())
        if schema is not None:
            body = self.fakes.generate(schema, "action", op.id, params)
            return Reply(status, paging.echo(body, self.spec.resolver.resolve(schema), self.spec.resolver,
                                             call.query, self.fakes, ("action", op.id, params)))
        media = next(iter(op.content_types(status)), None)
        if media is None:
            return Reply(status, None)
        # A documented body that is not JSON: text for text types, bytes otherwise, never nothing.
        content = ((op.response(status) or {}).get("content") or {})[media].get("schema") or {"type": "string"}
        if media_type(media).startswith("text/"):
            text = self.fakes.generate({"type": "string", **content, "minLength": max(1, content.get("minLength", 1))},
                                       "action", op.id, params, name="text")
            return Reply(status, str(text), media_type=media)
        return Reply(status, f"mock content of {op.id} {params}\n".encode(), media_type=media)

    def _item_key(self, shape: Shape, item: Any, index: int) -> tuple:
        """The key an item is completed with: its identity, so a list and a read agree byte for byte."""
        field, _ = self.id_field.get(shape.collection, (None, {}))
        ident = item.get(field) if isinstance(item, dict) and field else None
        return ("item", shape.collection, ident if ident is not None else f"#{index}")

    def _reply(self, call: Context, shape: Shape, status: int, value: Any, headers: dict | None = None) -> Reply:
        """Fit a stored object (or a list of them) to the documented success body."""
        op = call.op
        schema = op.json_schema(status)
        if schema is None:
            return Reply(status, None, headers or {})
        fakes, resolver = self.fakes, self.spec.resolver
        resolved = resolver.resolve(schema)
        is_array = resolved.get("type") == "array" or "items" in resolved
        if is_array:
            items = value if isinstance(value, list) else [value]
            body = [fakes.conform(item, resolved.get("items", {}), *self._item_key(shape, item, index))
                    for index, item in enumerate(items)]
            body = fakes.conform(body, resolved, op.id, status)
        elif isinstance(value, list):
            body = self._wrap_list(call, shape, status, resolved, value)
        else:
            body = fakes.conform(value, resolved, *self._item_key(shape, value, 0))
        return Reply(status, body, headers or {})

    def _wrap_list(self, call: Context, shape: Shape, status: int, schema: dict, items: list) -> Any:
        """A list answered by an object: the items (one page of them) in its first array property,
        its paging fields echoing the request and agreeing with the list."""
        fakes, resolver = self.fakes, self.spec.resolver
        op = call.op
        wrapper = fakes.generate(schema, "list", op.id, status)
        props = resolver.merged_all_of(schema).get("properties") or {}
        page = paging.window(call.query, len(items))
        for name, prop in props.items():
            prop = resolver.resolve(prop)
            if isinstance(wrapper, dict) and (prop.get("type") == "array" or "items" in prop):
                chosen = items[page.first:page.first + page.size] if page.size else items[page.first:]
                wrapper[name] = [fakes.conform(item, prop.get("items", {}), *self._item_key(shape, item, i))
                                 for i, item in enumerate(chosen)]
                break
        wrapper = paging.echo(wrapper, schema, resolver, call.query, fakes, ("list", op.id), total=len(items))
        return fakes.conform(wrapper, schema, op.id, status)

    # -- seeding ------------------------------------------------------------------------------
    def seed(self, fixtures: dict) -> None:
        """Generic fixtures into an empty store: ``generate: {<collection path>: count}`` and
        ``records: {<path>: [..]}``. Ids drawn for them are never handed out again, and neither
        are hand-written integer ids: creates find the sequence above them (``_new_id`` reads no
        collection once the sequence has a value)."""
        drawn: dict[str, int] = {}  # template -> the sequence's value: the store was empty

        def new_id(template: str, path: str) -> Any:
            item_id = self._new_id(template, path)
            if isinstance(item_id, int):
                drawn[template] = max(drawn.get(template, 0), item_id)
            return item_id

        for path, count in (fixtures.get("generate") or {}).items():
            template = self._template_for(path)
            if template is None:
                continue
            for _ in range(int(count)):
                item_id = new_id(template, path)
                self.store.put(path, str(item_id), self._generated(template, item_id))
        for path, records in (fixtures.get("records") or {}).items():
            template = self._template_for(path)
            if template is None:
                continue
            field, _ = self.id_field[template]
            for record in records:
                item_id = record.get(field) if field else None
                item_id = item_id if item_id is not None else new_id(template, path)
                obj = {**self._generated(template, item_id), **record}
                obj = self.fakes.conform(obj, self.item_schema[template], "item", template, item_id)
                self.store.put(path, str(item_id), obj)
            top = max((int(k) for k, _ in self.store.items(path) if k.isdigit()), default=0)
            if top > drawn.get(template, 0):  # draw the sequence up to exactly the highest hand-written id
                drawn[template] = self.store.next_id(f"id:{template}", floor=top - 1)

    def _template_for(self, path: str) -> str | None:
        if path in self.item_schema:
            return path
        match = self.spec.match(path + "/0")
        if match:
            ops, _ = match
            template = next(iter(ops.values())).path.rsplit("/", 1)[0]
            return template if template in self.item_schema else None
        return None
