// SPDX-License-Identifier: MIT
/*
 * The root-port bookkeeping the IOMMU models share: which endpoint is
 * plugged at which Requester ID, connect/disconnect against the endpoint,
 * PRG Response routing and the unplug-everything of teardown.
 */
#include <errno.h>

#include "alloc.h"
#include "hw/pci/port-table.h"

void iopf_pci_port_table_init(struct iopf_pci_port_table *t)
{
	pthread_mutex_init(&t->lock, NULL);
	CDS_INIT_LIST_HEAD(&t->ports);
}

void iopf_pci_port_table_destroy(struct iopf_pci_port_table *t)
{
	pthread_mutex_destroy(&t->lock);
}

/* @rid is wider than a RID so that a StreamID above 0xffff matches none. */
static struct iopf_pci_port *port_find_locked(struct iopf_pci_port_table *t,
					      uint32_t rid)
{
	struct iopf_pci_port *port;

	cds_list_for_each_entry(port, &t->ports, node)
		if (port->rid == rid)
			return port;
	return NULL;
}

/*
 * Plug @ep with @port as the ops' priv. The table owns @port from here on,
 * and frees it on failure too.
 */
int iopf_pci_port_table_connect(struct iopf_pci_port_table *t,
				struct iopf_pci_port *port,
				struct iopf_pci_endpoint *ep,
				const struct iopf_pci_port_ops *ops)
{
	int ret;

	port->table = t;
	port->ep = ep;
	port->rid = iopf_pci_endpoint_rid(ep);

	pthread_mutex_lock(&t->lock);
	ret = port_find_locked(t, port->rid) ?
		      -EEXIST :
		      iopf_pci_endpoint_connect(ep, ops, port);
	if (ret) {
		pthread_mutex_unlock(&t->lock);
		iopf_mfree(port);
		return ret;
	}
	cds_list_add_tail(&port->node, &t->ports);
	pthread_mutex_unlock(&t->lock);
	return 0;
}

/* Only the endpoint plugged at its RID: another one there gives -ENOENT. */
int iopf_pci_port_table_disconnect(struct iopf_pci_port_table *t,
				   struct iopf_pci_endpoint *ep)
{
	struct iopf_pci_port *port;

	pthread_mutex_lock(&t->lock);
	port = port_find_locked(t, iopf_pci_endpoint_rid(ep));
	if (!port || port->ep != ep) {
		pthread_mutex_unlock(&t->lock);
		return -ENOENT;
	}
	cds_list_del(&port->node);
	iopf_pci_endpoint_disconnect(ep);
	pthread_mutex_unlock(&t->lock);
	iopf_mfree(port);
	return 0;
}

/* From the unplug port op: the endpoint is going away by itself. */
void iopf_pci_port_table_unplug(struct iopf_pci_port *port)
{
	struct iopf_pci_port_table *t = port->table;

	pthread_mutex_lock(&t->lock);
	cds_list_del(&port->node);
	pthread_mutex_unlock(&t->lock);
	iopf_mfree(port);
}

/* A response for a RID with nothing plugged is lost, as on the wire. */
void iopf_pci_port_table_respond(struct iopf_pci_port_table *t, uint32_t rid,
				 const struct iopf_pci_prg_response *resp)
{
	struct iopf_pci_port *port;

	pthread_mutex_lock(&t->lock);
	port = port_find_locked(t, rid);
	if (port)
		iopf_pci_prg_response(port->ep, resp);
	pthread_mutex_unlock(&t->lock);
}

/* At teardown: unplug every endpoint so none keeps a dangling port. */
void iopf_pci_port_table_release(struct iopf_pci_port_table *t)
{
	struct iopf_pci_port *port, *tmp;

	pthread_mutex_lock(&t->lock);
	cds_list_for_each_entry_safe(port, tmp, &t->ports, node) {
		cds_list_del(&port->node);
		iopf_pci_endpoint_disconnect(port->ep);
		iopf_mfree(port);
	}
	pthread_mutex_unlock(&t->lock);
}
