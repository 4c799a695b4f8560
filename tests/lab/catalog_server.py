"""shop/catalog: a gRPC server (grpcio). Some ids are unknown (NOT_FOUND), some
are slow, ListProducts streams a few products.

usage: catalog_server.py GENERATED_DIR PORT
"""
import os
import sys
import time
from concurrent import futures

sys.path.insert(0, sys.argv[1])
import grpc  # noqa: E402
import catalog_pb2 as pb  # noqa: E402
import catalog_pb2_grpc as pbg  # noqa: E402


class Catalog(pbg.CatalogServicer):
    def GetProduct(self, req, ctx):
        if req.id % 11 == 0:
            ctx.abort(grpc.StatusCode.NOT_FOUND, "no product %d" % req.id)
        if req.id % 29 == 0:
            time.sleep(0.6)
        return pb.Product(id=req.id, name="product-%d" % req.id, price_cents=100 + req.id % 900,
                          image=os.urandom(req.id % 1500))

    def ListProducts(self, req, ctx):
        for i in range(max(1, min(req.limit, 20))):
            yield pb.Product(id=i, name="%s-%d" % (req.category, i), price_cents=250 + i, image=b"x" * 200)


server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
pbg.add_CatalogServicer_to_server(Catalog(), server)
server.add_insecure_port("0.0.0.0:%s" % sys.argv[2])
server.start()
print("catalog serving on %s" % sys.argv[2], flush=True)
server.wait_for_termination()
