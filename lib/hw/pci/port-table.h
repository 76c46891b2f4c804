/* SPDX-License-Identifier: MIT */
/*
 * A root port's table of plugged PCIe endpoints, by Requester ID, shared by
 * the IOMMU models that route PRG Responses back to an endpoint.
 *
 * Locking: table->lock protects the list. It is held across
 * iopf_pci_endpoint_connect/disconnect and while a response is delivered,
 * so an endpoint cannot be unplugged under a response in flight. Nothing
 * here calls a port operation, so the endpoint's own calls into the model
 * never find it held by themselves.
 */
#ifndef IOPF_HW_PCI_PORT_TABLE_H
#define IOPF_HW_PCI_PORT_TABLE_H

#include <pthread.h>
#include <stdint.h>

#include <urcu/list.h>

#include <iopf/hw/pci.h>

struct iopf_pci_port_table {
	pthread_mutex_t lock;
	struct cds_list_head ports;
};

/*
 * One plugged endpoint. A model embeds it as the FIRST member of its own
 * port, allocated with iopf_zalloc(): the table frees the port through it.
 */
struct iopf_pci_port {
	struct cds_list_head node;
	struct iopf_pci_port_table *table;
	struct iopf_pci_endpoint *ep;
	uint16_t rid;
};

void iopf_pci_port_table_init(struct iopf_pci_port_table *t);
void iopf_pci_port_table_destroy(struct iopf_pci_port_table *t);
int iopf_pci_port_table_connect(struct iopf_pci_port_table *t,
				struct iopf_pci_port *port,
				struct iopf_pci_endpoint *ep,
				const struct iopf_pci_port_ops *ops);
int iopf_pci_port_table_disconnect(struct iopf_pci_port_table *t,
				   struct iopf_pci_endpoint *ep);
void iopf_pci_port_table_unplug(struct iopf_pci_port *port);
void iopf_pci_port_table_respond(struct iopf_pci_port_table *t, uint32_t rid,
				 const struct iopf_pci_prg_response *resp);
void iopf_pci_port_table_release(struct iopf_pci_port_table *t);

#endif /* IOPF_HW_PCI_PORT_TABLE_H */
