package runner

import "testing"

func TestFormatPeriph(t *testing.T) {
	for _, c := range []struct{ line, want string }{
		{`{"t":1500,"kind":"i2c","op":"mem_read","bus":"I2C1","addr":"0x18","w":"05","r":"c1 50","ack":true,"status":"HAL_OK","device":"mcp9808"}`,
			"    1.500 ms  ⇄ I2C1 0x18 mem_read w=05 r=c1 50 → HAL_OK (mcp9808)"},
		{`{"t":2000,"kind":"i2c","op":"transmit","bus":"I2C1","addr":"0x0c","w":"07","nack":"address","status":"HAL_ERROR"}`,
			"    2.000 ms  ⇄ I2C1 0x0c transmit w=07 NACK address → HAL_ERROR"},
		{`{"t":2000,"kind":"i2c","op":"ready","bus":"I2C2","addr":"0x18","trials":3,"nack":"address","status":"HAL_ERROR"}`,
			"    2.000 ms  ⇄ I2C2 0x18 ready ×3 NACK address → HAL_ERROR"},
		{`{"t":10,"kind":"i2c","op":"transmit","bus":"I2C1","addr":"0x70","w":"00 3f","ack":true,"status":"HAL_OK","device":"ht16k33","state":"on dim=15 ram=3f00"}`,
			"    0.010 ms  ⇄ I2C1 0x70 transmit w=00 3f → HAL_OK (ht16k33)  [on dim=15 ram=3f00]"},
		{`{"t":10,"kind":"i2c","op":"init","bus":"I2C1","timing":"0x00c01f67"}`,
			"    0.010 ms  I2C1 init timing=0x00c01f67"},
		{`{"t":10,"kind":"i2c","op":"init","error":"bad instance"}`,
			"    0.010 ms  i2c init: bad instance"},
		{`{"t":10,"kind":"spi","op":"transmit_receive","bus":"SPI1","cs":"PA4","w":"8f 00","r":"ff 33","status":"HAL_OK","device":"lis3dh"}`,
			"    0.010 ms  ⇄ SPI1 PA4 transmit_receive w=8f 00 r=ff 33 → HAL_OK (lis3dh)"},
	} {
		if got := Format(c.line); got != c.want {
			t.Errorf("Format(%s)\n got %q\nwant %q", c.line, got, c.want)
		}
	}
}
