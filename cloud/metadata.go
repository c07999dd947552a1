package cloud

// Image properties the service reads and writes.
const (
	// CreatedByKey and CreatedByValue mark every image the service creates;
	// retention only ever considers images that carry both.
	CreatedByKey   = "org.openstack__1__created_by"
	CreatedByValue = "scheduled_images_service"

	// InstanceUUIDKey is the property Nova sets to the imaged server's ID.
	InstanceUUIDKey = "instance_uuid"

	// RunIDKey records the service's run identifier on the image, so that
	// after a crash or failover the new owner finds the image it already asked
	// for instead of creating a second one.
	RunIDKey = "imgsched_run_id"
)
